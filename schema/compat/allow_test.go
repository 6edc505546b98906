package compat_test

import (
	"strings"
	"testing"

	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/compat"
)

// TestCheckCallAllow: a caller that declares a call to a method whose allow list leaves
// it out is reported, naming both and the list.
func TestCheckCallAllow(t *testing.T) {
	ledger, err := schema.Parse("ledger.json", []byte(`{"service": "ledger", "version": "1.0.0", "channels": {"rpc": "tcp"},
  "methods": {"post": {"mode": "response", "channel": "rpc", "request": {"type": "integer"}, "response": {"type": "integer"}, "allow": ["orders"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	caller := func(svc string) *schema.Descriptor {
		d, err := schema.Parse(svc+".json", []byte(`{"service": "`+svc+`", "version": "2.0.0", "channels": {"rpc": "tcp"},
  "calls": {"ledger.post": {"request": {"type": "integer"}, "response": {"type": "integer"}}}}`))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if rep := compat.CheckCall(caller("orders"), "ledger.post", ledger); rep.Verdict() != compat.Compatible {
		t.Fatalf("allowed caller: %s", rep)
	}
	rep := compat.CheckCall(caller("billing"), "ledger.post", ledger)
	want := `ledger@1.0.0 allows "post" to be called by orders only; billing is not allowed`
	if rep.Verdict() != compat.Incompatible || !strings.Contains(rep.String(), want) {
		t.Fatalf("caller not in allow: %v\n%s", rep.Verdict(), rep)
	}
	t.Log(rep)
}
