package compat_test

import (
	"testing"

	"github.com/jesus-go/jesus/schema/compat"
)

// TestRefsAsTheValidatorReadsThem: the checker follows a $ref to the schema the
// validator uses, also where a plain reading differs: a percent-escaped pointer
// token ("a%2Fb" is the one token "a/b", not "a" then "b"), and a percent-escaped
// file name. A decoy sits where the plain reading would land; proving against it
// would call an incompatible pair compatible.
func TestRefsAsTheValidatorReadsThem(t *testing.T) {
	dec := func(s string) any { return decodeDoc(t, s) }
	integer := compat.Schema{Root: dec(`{"type":"integer"}`)}
	for _, c := range []struct {
		name string
		b    compat.Schema
	}{
		{"escaped token", compat.Schema{Root: dec(`{"$ref":"#/$defs/a%2Fb","$defs":{"a/b":{"type":"string"},"a":{"b":{"type":"integer"}}}}`)}},
		{"escaped file", compat.Schema{Root: dec(`{"$ref":"my%20file.json#/$defs/x"}`), Name: "b.json",
			Files: map[string]any{"my file.json": dec(`{"$defs":{"x":{"type":"string"}}}`)}}},
	} {
		r := compat.Check(integer, c.b)
		if r.Verdict != compat.Incompatible {
			t.Errorf("%s: integer ⊆ string: %v %s", c.name, r.Verdict, r.Reason)
		}
	}
	sameFile := compat.Schema{Root: dec(`{"$ref":"my%20file.json#/$defs/x"}`), Name: "b.json",
		Files: map[string]any{"my file.json": dec(`{"$defs":{"x":{"type":"number"}}}`)}}
	if r := compat.Check(integer, sameFile); r.Verdict != compat.Compatible {
		t.Errorf("escaped file: integer ⊆ number: %v %s", r.Verdict, r.Reason)
	}
}
