package compat

import (
	"strings"
	"testing"
	"io"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

func TestScratch(t *testing.T) {
	c := jsonschema.NewCompiler()
	c.LoadURL = func(s string) (io.ReadCloser, error) { return nil, fmt.Errorf("no load %s", s) }
	c.AssertFormat = true
	c.AddResource("jesus:///orders.json", strings.NewReader(`{"service":"orders","$defs":{"O":{"type":"object","required":["a"],"properties":{"a":{"$ref":"common.json#/$defs/X"}}}},"methods":{"create":{"request":{"$ref":"#/$defs/O"}}}}`))
	c.AddResource("jesus:///common.json", strings.NewReader(`{"$defs":{"X":{"type":"integer"}}}`))
	s, err := c.Compile("jesus:///orders.json#/methods/create/request")
	if err != nil { t.Fatal(err) }
	t.Log(s.Validate(map[string]any{"a": 1.5}))
	t.Log(s.Validate(map[string]any{"a": 1}))
	s2, err := c.Compile("jesus:///orders.json#/$defs/O/properties/a")
	t.Log(s2, err)
}
