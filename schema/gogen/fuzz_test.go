package gogen_test

import (
	"strings"
	"testing"

	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/gogen"
	"github.com/jesus-go/jesus/schema/internal/schematest"
)

// FuzzGenerate: any descriptor the set accepts gives Go code that parses, or an error;
// never a panic.
func FuzzGenerate(f *testing.F) {
	seeds := []string{"../../schemas/orders.json", "../../schemas/audit.json", "testdata/tricky/shop.json"}
	schematest.FuzzDescriptor(f, seeds, func(t *testing.T, set *schema.Set) {
		_, err := gogen.Generate(set, gogen.Options{Package: "p"})
		if err != nil && strings.Contains(err.Error(), "does not parse") {
			t.Fatal(err)
		}
	})
}
