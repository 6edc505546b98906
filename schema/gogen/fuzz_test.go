package gogen_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/gogen"
)

// FuzzGenerate: any descriptor the set accepts gives Go code that parses, or an error;
// never a panic.
func FuzzGenerate(f *testing.F) {
	for _, p := range []string{"../../schemas/orders.json", "../../schemas/audit.json", "testdata/tricky/shop.json"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	common, err := os.ReadFile(filepath.Join("..", "..", "schemas", "common.defs.json"))
	if err != nil {
		f.Fatal(err)
	}
	money, err := os.ReadFile(filepath.Join("testdata", "tricky", "money.json"))
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
		_, err := gogen.Generate(set, gogen.Options{Package: "p"})
		if err != nil && strings.Contains(err.Error(), "does not parse") {
			t.Fatal(err)
		}
	})
}
