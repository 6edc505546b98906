package export_test

import (
	"encoding/json"
	"testing"

	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/export"
	"github.com/jesus-go/jesus/schema/internal/schematest"
)

// FuzzExport: any descriptor the set accepts gives JSON documents, or an error; never a
// panic.
func FuzzExport(f *testing.F) {
	seeds := []string{"../../schemas/orders.json", "../../schemas/billing.json", "../gogen/testdata/tricky/shop.json"}
	schematest.FuzzDescriptor(f, seeds, func(t *testing.T, set *schema.Set) {
		for _, gen := range []func(*schema.Set, export.Options) ([]byte, error){export.AsyncAPI, export.OpenAPI} {
			b, err := gen(set, export.Options{})
			if err == nil && !json.Valid(b) {
				t.Fatalf("not JSON:\n%s", b)
			}
		}
	})
}
