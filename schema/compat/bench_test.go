package compat_test

import (
	"testing"

	"github.com/jesus-go/jesus/schema/compat"
)

func BenchmarkCheckCompatibleObject(b *testing.B) {
	a := []byte(`{"$ref":"#/$defs/o","$defs":{"o":{"type":"object","required":["id","items"],"additionalProperties":false,"properties":{
		"id":{"type":"string","maxLength":36},"total":{"type":"number","minimum":0,"multipleOf":0.01},
		"items":{"type":"array","maxItems":100,"items":{"type":"object","required":["sku","qty"],"properties":{"sku":{"type":"string"},"qty":{"type":"integer","minimum":1}}}},
		"status":{"enum":["new","paid"]},"note":{"type":["string","null"]}}}}}`)
	bb := []byte(`{"type":"object","required":["id"],"properties":{
		"id":{"type":"string"},"total":{"type":"number","minimum":0},
		"items":{"type":"array","items":{"type":"object","required":["sku"],"properties":{"sku":{"type":"string"},"qty":{"type":"number"}}}},
		"status":{"type":"string"},"note":{"anyOf":[{"type":"string"},{"type":"null"}]}}}`)
	b.ReportAllocs()
	for b.Loop() {
		r, err := compat.CheckJSON(a, bb)
		if err != nil || r.Verdict != compat.Compatible {
			b.Fatal(err, r.Verdict, r.Reason)
		}
	}
}

func BenchmarkCheckIncompatibleWithWitness(b *testing.B) {
	a := []byte(`{"type":"object","properties":{"customer":{"type":"object","properties":{"email":{"type":"string"}}}}}`)
	bb := []byte(`{"type":"object","properties":{"customer":{"type":"object","required":["email"]}}}`)
	b.ReportAllocs()
	for b.Loop() {
		r, err := compat.CheckJSON(a, bb)
		if err != nil || r.Verdict != compat.Incompatible {
			b.Fatal(err, r.Verdict)
		}
	}
}

func BenchmarkCheckAll(b *testing.B) {
	descs := loadSet(b)
	b.ReportAllocs()
	for b.Loop() {
		if compat.CheckAll(descs).Verdict() != compat.Incompatible {
			b.Fatal("verdict")
		}
	}
}
