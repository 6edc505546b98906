package export_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/export"
)

// FuzzExport: any descriptor the set accepts gives JSON documents, or an error; never a
// panic.
func FuzzExport(f *testing.F) {
	for _, p := range []string{"../../schemas/orders.json", "../../schemas/billing.json", "../gogen/testdata/tricky/shop.json"} {
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
		for _, gen := range []func(*schema.Set, export.Options) ([]byte, error){export.AsyncAPI, export.OpenAPI} {
			b, err := gen(set, export.Options{})
			if err == nil && !json.Valid(b) {
				t.Fatalf("not JSON:\n%s", b)
			}
		}
	})
}
