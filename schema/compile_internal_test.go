package schema

import (
	"bytes"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// compile turns a panic of jsonschema/v5 into an error naming the file and pointer. The
// panic is reached here by skipping checkDraft: a first failed compile leaves the resource
// half-built and the second reference into it assigns to a nil map.
func TestCompileRecoversPanic(t *testing.T) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.LoadURL = refuseLoad
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
