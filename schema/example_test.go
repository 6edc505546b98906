package schema_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jesus-go/jesus/codec"
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

// A message is checked from its encoded bytes, as it arrives from the wire: no value tree
// is built for a valid message, and an invalid one gets the error Validate gives.
func ExampleValidator_ValidateMsgpack() {
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
	mp := codec.NewMsgpack(codec.DefaultLimits())
	order := map[string]any{
		"customer": map[string]any{"id": "c-42", "email": "ada@example.com"},
		"currency": "EUR",
		"lines": []any{map[string]any{"sku": "ABC-1234", "quantity": 2,
			"unitPrice": map[string]any{"amount": 19.99, "currency": "EUR"}}},
	}
	good, _ := mp.Marshal(nil, order)
	fmt.Println("good:", v.ValidateMsgpack(good))

	order["currency"] = "eur"
	bad, _ := mp.Marshal(nil, order)
	fmt.Println("bad:", v.ValidateMsgpack(bad))

	// Bytes that do not decode get an error wrapping codec's: here a map that declares
	// more entries than the bytes left can hold.
	err = v.ValidateMsgpack(good[:2])
	fmt.Println("truncated:", errors.Is(err, codec.ErrTooLarge))
	// Output:
	// good: <nil>
	// bad: schema: orders@1.2.0 create request: /currency: enum: value must be one of "EUR", "USD", "GBP", "CHF", "JPY"
	// truncated: true
}

func ExampleValidator_ValidateJSON() {
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
	msg := []byte(`{"customer":{"id":"c-42","email":"ada@example.com"},"currency":"EUR",
		"lines":[{"sku":"ABC-1234","quantity":2,"unitPrice":{"amount":19.99,"currency":"EUR"}}]}`)
	fmt.Println(v.ValidateJSON(msg))
	// Output:
	// <nil>
}

// A sender checks the Go value it is about to write; what the check cannot vouch for
// (here, an order that is invalid) is checked from its bytes, for the reasons.
func ExampleValidator_AcceptsMsgpack() {
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
	type money struct {
		Amount   float64 `json:"amount"`
		Currency string  `json:"currency"`
	}
	type line struct {
		SKU       string `json:"sku"`
		Quantity  int    `json:"quantity"`
		UnitPrice money  `json:"unitPrice"`
	}
	type customer struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	}
	type order struct {
		Customer customer `json:"customer"`
		Currency string   `json:"currency"`
		Lines    []line   `json:"lines"`
	}
	o := &order{Customer: customer{ID: "c-42", Email: "ada@example.com"}, Currency: "EUR",
		Lines: []line{{SKU: "ABC-1234", Quantity: 2, UnitPrice: money{Amount: 19.99, Currency: "EUR"}}}}
	fmt.Println("good, by value:", v.AcceptsMsgpack(o))
	fmt.Println("good, by value, for JSON too:", v.AcceptsJSON(o))

	o.Lines[0].Quantity = 0
	if !v.AcceptsMsgpack(o) {
		data, _ := codec.NewMsgpack(codec.DefaultLimits()).Marshal(nil, o)
		fmt.Println("bad, from the bytes:", v.ValidateMsgpack(data))
	}
	// Output:
	// good, by value: true
	// good, by value, for JSON too: true
	// bad, from the bytes: schema: orders@1.2.0 create request: /lines/0/quantity: minimum: must be >= 1 but found 0
}
