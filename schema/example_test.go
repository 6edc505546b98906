package schema_test

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/jesus-go/jesus/schema"
)

func Example() {
	set, err := schema.LoadDir("../schemas")
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := set.Validator("orders", "", schema.PartRequest, "create")
	if err != nil {
		fmt.Println(err)
		return
	}
	// Values as a codec decodes them: numbers as json.Number.
	decodeJSON := func(s string) any {
		d := json.NewDecoder(bytes.NewReader([]byte(s)))
		d.UseNumber()
		var x any
		_ = d.Decode(&x)
		return x
	}
	good := decodeJSON(`{"customer":{"id":"c-42","email":"ada@example.com"},"currency":"EUR",
		"lines":[{"sku":"ABC-1234","quantity":2,"unitPrice":{"amount":19.99,"currency":"EUR"}}]}`)
	bad := decodeJSON(`{"customer":{"id":"c-42"},"currency":"EUR",
		"lines":[{"sku":"ABC-1234","quantity":2,"unitPrice":{"amount":19.999,"currency":"EUR"}}]}`)

	fmt.Println("good:", v.Validate(good))
	fmt.Println("bad:", v.Validate(bad))
	// Output:
	// good: <nil>
	// bad: schema: orders@1.2.0 create request: /customer/email: required: missing property; /lines/0/unitPrice/amount: multipleOf: 19.999 not multipleOf 0.01
}

func ExampleDescriptor_Bundle() {
	set, err := schema.LoadDir("../schemas")
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := set.Service("billing").Bundle()
	if err != nil {
		fmt.Println(err)
		return
	}
	// The bundle carries what it used from common.defs.json in its own $defs.
	var doc struct {
		Defs map[string]json.RawMessage `json:"$defs"`
	}
	_ = json.Unmarshal(b, &doc)
	for _, n := range []string{"common.defs.ChargeRequest", "common.defs.Money", "common.defs.Address"} {
		_, ok := doc.Defs[n]
		fmt.Println(n, ok)
	}
	// Output:
	// common.defs.ChargeRequest true
	// common.defs.Money true
	// common.defs.Address false
}
