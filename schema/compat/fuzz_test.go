package compat_test

import (
	"testing"

	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/compat"
)

// FuzzCheck feeds arbitrary pairs of schema texts to the checker: it must
// not panic, a witness must be a real counterexample, and a Compatible
// verdict must survive the instances the generator finds.
func FuzzCheck(f *testing.F) {
	for _, p := range pairs {
		f.Add(p.a, p.b)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a) > 4096 || len(b) > 4096 {
			return
		}
		r, err := compat.CheckJSON([]byte(a), []byte(b), compat.WithBudget(2000, 32))
		if err != nil {
			return
		}
		if !compiles(a) || !compiles(b) {
			if r.Verdict != compat.Unproven {
				t.Fatalf("invalid schema pair got %v: %s", r.Verdict, r.Reason)
			}
			return
		}
		soundness(t, a, b, 1, 40)
	})
}

// FuzzCheckDescriptor feeds arbitrary descriptor bytes to schema.Parse and
// checks the calls and events of whatever parses against itself.
func FuzzCheckDescriptor(f *testing.F) {
	f.Add([]byte(`{"service":"a","version":"1.0.0","channels":{"rpc":"tcp+json"},"methods":{"m":{"mode":"response","channel":"rpc","request":{},"response":{}}},"calls":{"a.m":{"request":{"type":"string"}}}}`))
	f.Add([]byte(`{"service":"a","version":"1","events":{"e":{"channel":"x","payload":{"$ref":"#/nope"}}},"listens":{"e":{"payload":false}}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := schema.Parse("d.json", data)
		if err != nil {
			return
		}
		rep := compat.CheckAll([]*schema.Descriptor{d}, compat.WithBudget(2000, 32))
		_ = rep.String()
		if _, err := rep.MarshalJSON(); err != nil {
			t.Fatal(err)
		}
	})
}
