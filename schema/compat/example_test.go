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
