package gogen_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/gogen"
	"github.com/jesus-go/jesus/schema/internal/schematest"
)

// TestStable: generating twice, from sets loaded twice, gives the same bytes.
func TestStable(t *testing.T) {
	for _, dir := range []string{"../../schemas", "testdata/tricky"} {
		a, err := gogen.Generate(schematest.Load(t, dir), gogen.Options{Package: "p"})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			b, err := gogen.Generate(schematest.Load(t, dir), gogen.Options{Package: "p"})
			if err != nil {
				t.Fatal(err)
			}
			if len(a) != len(b) {
				t.Fatalf("%s: %d files, then %d", dir, len(a), len(b))
			}
			for n := range a {
				if !bytes.Equal(a[n], b[n]) {
					t.Fatalf("%s: %s differs between two runs", dir, n)
				}
			}
		}
	}
}

// TestCompiles generates code for awkward descriptors (names that are not Go names,
// recursion, unions, aliases, a type name used by two files) and has the go tool vet it.
func TestCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go tool")
	}
	files, err := gogen.Generate(schematest.Load(t, "testdata/tricky"), gogen.Options{Package: "tricky"})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("testdata", "out-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	all := string(files["shop.jesus.go"]) + string(files["money.jesus.go"])
	flat := strings.Join(strings.Fields(all), " ") // gofmt aligns fields; compare without it
	for _, want := range []string{
		"type ShopFrontClient struct",
		"func (x *ShopFrontClient) GetItem(ctx context.Context, req ShopFrontGetItemRequest) (Node, error)",
		"Next *Node",
		"Children []Node",
		"ID2 string", // "id" and "ID" both want ID
		"X2nd",
		"Type *string",
		"Any any",
		"Range map[string]float64",
		"type Alias = Tags",
		"type Tree = Forest",
		"type Forest []Tree",
		"type MoneyMoney struct", // shop's Money took the name first
		"Money(ctx context.Context, req ShopFrontMoneyRequest) iter.Seq2[MoneyMoney, error]",
		"Count(ctx context.Context, req int64) ([]Money, error)",
		"Ping(ctx context.Context, req any) error",
		`ShopFrontPriceChangedEvent = "price.changed"`,
		"ShopFrontMoneyRequestBC ShopFrontMoneyRequest = \"b-c\"",
		"QUote *string `json:\"q\\\"uote,omitempty\"`",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("generated code lacks %q", want)
		}
	}
	cmd := exec.Command("go", "vet", "./"+filepath.ToSlash(dir))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet of the generated code: %v\n%s\n%s", err, out, all)
	}
}

func TestErrors(t *testing.T) {
	set := schematest.Load(t, "../../schemas")
	for _, tc := range []struct {
		opts gogen.Options
		want string
	}{
		{gogen.Options{Package: "not a name"}, `package "not a name" is not a Go identifier`},
		{gogen.Options{Package: "p", Services: []string{"nope"}}, `no service "nope" in the set`},
	} {
		_, err := gogen.Generate(set, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.opts, err, tc.want)
		}
	}
	empty := schema.NewSet()
	if _, err := gogen.Generate(empty, gogen.Options{Package: "p"}); err == nil || !strings.Contains(err.Error(), "no service descriptor") {
		t.Errorf("empty set: %v", err)
	}
}

// TestServices: --service limits the output to what those services reach.
func TestServices(t *testing.T) {
	files, err := gogen.Generate(schematest.Load(t, "../../schemas"), gogen.Options{Package: "p", Services: []string{"billing"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := files["orders.jesus.go"]; ok {
		t.Error("orders generated although only billing was asked for")
	}
	if c := string(files["common_defs.jesus.go"]); !strings.Contains(c, "type ChargeRequest struct") || strings.Contains(c, "type Address struct") {
		t.Errorf("common_defs has the wrong types:\n%s", c)
	}
}
