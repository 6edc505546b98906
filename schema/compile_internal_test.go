package schema

import (
	"bytes"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/schema/internal/ref"
)

// compile turns a panic of jsonschema/v5 into an error naming the file and pointer. The
// panic is reached here by skipping checkDraft: a first failed compile leaves the resource
// half-built and the second reference into it assigns to a nil map.
func TestCompileRecoversPanic(t *testing.T) {
	c := ref.NewCompiler(nil)
	doc := `{"$defs":{"A":{"type":"arzay"}},"m":{"$ref":"#/$defs/A"},"n":{}}`
	if err := c.AddResource(baseURL+"x.json", bytes.NewReader([]byte(doc))); err != nil {
		t.Fatal(err)
	}
	if _, err := compile(c, "x.json", "/m"); err == nil {
		t.Fatal("compiled a bad schema")
	}
	_, err := compile(c, "x.json", "/n")
	if err == nil || !strings.Contains(err.Error(), "schema: x.json: /n: ") {
		t.Fatalf("got %v", err)
	}
	t.Log(err)
}
