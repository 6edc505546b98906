package compat_test

import (
	"fmt"

	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/compat"
)

func ExampleCheckJSON() {
	caller := []byte(`{"type":"object","required":["amount"],"properties":{"amount":{"type":"integer","minimum":1}}}`)
	receiver := []byte(`{"type":"object","required":["amount"],"properties":{"amount":{"type":"number","exclusiveMinimum":0}}}`)
	r, _ := compat.CheckJSON(caller, receiver)
	fmt.Println(r.Verdict)

	strict := []byte(`{"type":"object","required":["amount","currency"],"properties":{"amount":{"type":"integer"},"currency":{"enum":["EUR","USD"]}}}`)
	r, _ = compat.CheckJSON(caller, strict, compat.WithNames("caller", "billing@2.0.0"))
	fmt.Println(r.Verdict)
	fmt.Println(r.Reason)
	fmt.Println(compat.Incompatible.ExitCode())
	// Output:
	// compatible
	// incompatible
	// caller can omit /currency, which billing@2.0.0 requires
	// 1
}

func ExampleCheckCall() {
	orders, _ := schema.Parse("orders@1.3.0.json", []byte(`{"service":"orders","version":"1.3.0","channels":{"rpc":"tcp+msgpack"},
		"calls":{"billing.charge":{"request":{"type":"object","properties":{"amount":{"type":"integer"}}},
		                           "response":{"type":"object","properties":{"status":{"enum":["paid","declined"]}}}}}}`))
	billing, _ := schema.Parse("billing@2.0.0.json", []byte(`{"service":"billing","version":"2.0.0","channels":{"rpc":"tcp+msgpack"},
		"methods":{"charge":{"mode":"response","channel":"rpc",
		  "request":{"type":"object","properties":{"amount":{"type":"number"}}},
		  "response":{"type":"object","required":["status"],"properties":{"status":{"enum":["paid","declined","refunded"]}}}}}}`))
	rep := compat.CheckCall(orders, "billing.charge", billing)
	fmt.Print(rep)
	// Output:
	// orders@1.3.0 calls billing.charge on billing@2.0.0: request: compatible
	// orders@1.3.0 calls billing.charge on billing@2.0.0: response: receiver can send /status "refunded", which the caller does not allow
	//   for example: {"status":"refunded"}
	// incompatible (1 compatible, 1 incompatible, 0 cannot prove)
}

func ExampleChecker() {
	load := func(doc string) *schema.Descriptor {
		d, err := schema.Parse("d.json", []byte(doc))
		if err != nil {
			panic(err)
		}
		return d
	}
	billing := load(`{"service":"billing","version":"2.0.0","channels":{"rpc":"tcp+msgpack"},
		"methods":{"charge":{"mode":"response","channel":"rpc",
		  "request":{"type":"object","properties":{"ref":{"type":"string","pattern":"^[A-Z]{2}-[0-9]+$"}}},
		  "response":{"type":"object","properties":{"status":{"enum":["paid","declined"]}}}}}}`)
	orders := load(`{"service":"orders","version":"1.3.0","channels":{"rpc":"tcp+msgpack"},
		"calls":{"billing.charge":{"request":{"type":"object","properties":{"ref":{"type":"string","pattern":"^OR-[0-9]{1,9}$"}}}}}}`)
	k := compat.NewChecker()
	fmt.Println(k.CheckAll([]*schema.Descriptor{orders, billing}).Verdict(), k.Checked())

	// A new version of the caller: only its relations are proven again.
	orders2 := load(`{"service":"orders","version":"1.4.0","channels":{"rpc":"tcp+msgpack"},
		"calls":{"billing.charge":{"request":{"type":"object","properties":{"ref":{"type":"string","pattern":"^or-[0-9]+$"}}}}}}`)
	rep := k.CheckAll([]*schema.Descriptor{orders2, billing})
	fmt.Print(rep)
	fmt.Println(k.Checked())
	// Output:
	// compatible 1
	// orders@1.4.0 calls billing.charge on billing@2.0.0: request: caller allows /ref "or-0", which billing@2.0.0's pattern "^[A-Z]{2}-[0-9]+$" rejects
	//   for example: {"ref":"or-0"}
	// orders@1.4.0 calls billing.charge on billing@2.0.0: response: compatible
	// incompatible (1 compatible, 1 incompatible, 0 cannot prove)
	// 2
}
