package schema_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/codec"
	"github.com/jesus-go/jesus/schema"
)

const smallOrder = `{"id":"o-1001","customer":{"id":"c-42","name":"Ada Lovelace","email":"ada@example.com"},
"currency":"EUR","lines":[{"sku":"ABC-1234","title":"Analytical engine manual","quantity":2,
"unitPrice":{"amount":19.99,"currency":"EUR"}}],"status":"new"}`

// largeOrder returns an order with n lines (n = 60 is about 4 KB of JSON with the shipping address).
func largeOrder(n int) string {
	var b strings.Builder
	b.WriteString(`{"id":"o-2002","customer":{"id":"c-42","name":"Ada Lovelace","email":"ada@example.com"},` +
		`"shipTo":{"street":"12 Byron Road","city":"London","postalCode":"SW1 2AB","country":"GB"},"currency":"EUR","lines":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"sku":"SKU-%04d","quantity":%d,"unitPrice":{"amount":%d.%02d,"currency":"EUR"}}`, 1000+i, 1+i%7, 3+i, (i*37)%100)
	}
	b.WriteString(`],"note":"leave at the door","status":"submitted"}`)
	return b.String()
}

func benchValidator(b *testing.B) *schema.Validator {
	b.Helper()
	s, err := schema.LoadDir("../schemas")
	if err != nil {
		b.Fatal(err)
	}
	v, err := s.Validator("orders", "1.2.0", schema.PartRequest, "create")
	if err != nil {
		b.Fatal(err)
	}
	return v
}

// benchDocs are the orders the validation benchmarks read: a small one and one of 60 lines.
func benchDocs() []struct{ name, doc string } {
	return []struct{ name, doc string }{{"small", smallOrder}, {"large60", largeOrder(60)}}
}

// benchOp runs op as the sub-benchmark name, n bytes an operation (0: no throughput).
func benchOp(b *testing.B, name string, n int, op func() error) {
	b.Run(name, func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(n))
		for b.Loop() {
			if err := op(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkValidate(b *testing.B) {
	v := benchValidator(b)
	for _, c := range benchDocs() {
		x := decode(b, c.doc)
		if err := v.Validate(x); err != nil {
			b.Fatal(err)
		}
		benchOp(b, c.name+"/fast", len(c.doc), func() error { return v.Validate(x) })
		benchOp(b, c.name+"/jsonschema", len(c.doc), func() error {
			if !v.ValidJS(x) {
				return errors.New("invalid")
			}
			return nil
		})
		fx := floaty(x)
		benchOp(b, c.name+"/fast-msgpack-numbers", 0, func() error { return v.Validate(fx) })
	}
}

// BenchmarkValidateEncoded compares today's path (decode into a value tree with codec,
// then Validate) with validating the encoded message directly.
func BenchmarkValidateEncoded(b *testing.B) {
	v := benchValidator(b)
	for _, c := range benchDocs() {
		x := decode(b, c.doc)
		for _, ser := range []codec.Serializer{codec.NewMsgpack(codec.DefaultLimits()), codec.NewJSON(codec.DefaultLimits())} {
			data, err := ser.Marshal(nil, x)
			if err != nil {
				b.Fatal(err)
			}
			direct := v.ValidateJSON
			if ser.Name() == codec.SerializerMsgpack {
				direct = v.ValidateMsgpack
			}
			benchOp(b, c.name+"/"+ser.Name()+"/decode+validate", len(data), func() error {
				x, err := ser.UnmarshalValue(data)
				if err != nil {
					return err
				}
				return v.Validate(x)
			})
			benchOp(b, c.name+"/"+ser.Name()+"/encoded", len(data), func() error { return direct(data) })
		}
	}
}
