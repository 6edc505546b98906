// Package schematest holds what the tests of the schema packages share.
package schematest

import (
	"os"
	"testing"

	"github.com/jesus-go/jesus/schema"
)

// Load loads the set of the files in dir, or fails t.
func Load(t testing.TB, dir string) *schema.Set {
	t.Helper()
	set, err := schema.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// FuzzDescriptor fuzzes a descriptor, x.json, in a set beside the shared definitions it may
// refer to (common.defs.json of the example schemas, money.json of gogen's tricky cases):
// every input the set accepts goes to check. The seeds are descriptor files. Paths are
// relative to a package directory one below schema (schema/export, schema/gogen).
func FuzzDescriptor(f *testing.F, seeds []string, check func(t *testing.T, set *schema.Set)) {
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	common, err := os.ReadFile("../../schemas/common.defs.json")
	if err != nil {
		f.Fatal(err)
	}
	money, err := os.ReadFile("../gogen/testdata/tricky/money.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, desc []byte) {
		set := schema.NewSet()
		if set.Add("common.defs.json", common) != nil || set.Add("money.json", money) != nil {
			t.Skip()
		}
		if err := set.Add("x.json", desc); err != nil {
			return
		}
		check(t, set)
	})
}
