package schema_test

import (
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

func BenchmarkValidate(b *testing.B) {
	v := benchValidator(b)
	for _, c := range []struct {
		name string
		doc  string
	}{{"small", smallOrder}, {"large60", largeOrder(60)}} {
		x := decode(b, c.doc)
		if err := v.Validate(x); err != nil {
			b.Fatal(err)
		}
		b.Run(c.name+"/fast", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.doc)))
			for b.Loop() {
				if err := v.Validate(x); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/jsonschema", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.doc)))
			for b.Loop() {
				if !v.ValidJS(x) {
					b.Fatal("invalid")
				}
			}
		})
		fx := floaty(x)
		b.Run(c.name+"/fast-msgpack-numbers", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Validate(fx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkValidateEncoded compares today's path (decode into a value tree with codec,
// then Validate) with validating the encoded message directly.
func BenchmarkValidateEncoded(b *testing.B) {
	v := benchValidator(b)
	for _, c := range []struct {
		name string
		doc  string
	}{{"small", smallOrder}, {"large60", largeOrder(60)}} {
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
			b.Run(c.name+"/"+ser.Name()+"/decode+validate", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					x, err := ser.UnmarshalValue(data)
					if err != nil {
						b.Fatal(err)
					}
					if err := v.Validate(x); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(c.name+"/"+ser.Name()+"/encoded", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					if err := direct(data); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
