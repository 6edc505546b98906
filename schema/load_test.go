package schema_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/schema"
)

func TestLoadExamples(t *testing.T) {
	s, err := schema.LoadDir("../schemas")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range s.Services() {
		ids = append(ids, d.ID())
	}
	if got := strings.Join(ids, " "); got != "audit@0.3.0 billing@1.0.0 orders@1.2.0" {
		t.Fatalf("services: %s", got)
	}
	o := s.Service("orders")
	if o == nil || o.WireMethod("create") != "orders.create" {
		t.Fatalf("orders: %+v", o)
	}
	for ch, want := range map[string]string{"rpc": "tcp+msgpack+zstd", "local": "unix+msgpack", "domain": "http+json+gzip", "logs": "udp+msgpack"} {
		if got := o.Channels[ch].Spec(); got != want {
			t.Errorf("channel %s: %s, want %s", ch, got, want)
		}
	}
	modes := map[string]channel.Mode{"create": channel.ModeResponse, "get": channel.ModeResponse, "watch": channel.ModeStream, "touch": channel.ModeNoResponse, "submit": channel.ModeAck}
	for m, want := range modes {
		if o.Methods[m].Mode != want {
			t.Errorf("method %s: mode %v, want %v", m, o.Methods[m].Mode, want)
		}
	}
	if e := o.Events["order.created"]; e.Mode != channel.ModeAck || o.Channels[e.Channel].Spec() != "http+json+gzip" {
		t.Errorf("order.created: %+v", e)
	}
	if e := o.Events["log"]; e.Mode != channel.ModeNoResponse || o.Channels[e.Channel].Transport != "udp" {
		t.Errorf("log: %+v", e)
	}
	if _, ok := o.Calls["billing.charge"]; !ok {
		t.Error("orders does not call billing.charge")
	}
	for _, d := range s.Services() {
		for _, p := range d.Parts() {
			if _, err := s.Validator(d.Service, d.Version, p.Part, p.Name); err != nil {
				t.Error(err)
			}
		}
	}
	if _, err := s.Validator("orders", "9.9.9", schema.PartRequest, "create"); err == nil {
		t.Error("validator of a missing version")
	}
	if _, err := s.Validator("orders", "", schema.PartResponse, "touch"); err == nil {
		t.Error("response validator of a noResponse method")
	}
}

func TestMetaSchemaCopyInSchemasDir(t *testing.T) {
	b, err := os.ReadFile("../schemas/descriptor.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, schema.MetaSchema()) {
		t.Fatal("schemas/descriptor.schema.json differs from schema/descriptor.schema.json; copy it over")
	}
}

const commonDefs = `{"$defs":{"Money":{"type":"object","required":["amount"],"properties":{"amount":{"type":"number"},"cur":{"$ref":"#/$defs/Cur"}}},"Cur":{"enum":["EUR","USD"]}}}`

func desc(methods string) string {
	return `{"service":"orders","version":"1.0.0","channels":{"rpc":"tcp+msgpack","logs":"udp+msgpack"},"methods":{` + methods + `}}`
}

func TestDescriptorErrors(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"bad service name", map[string]string{"x.json": `{"service":"Orders","version":"1.0.0","channels":{"c":"tcp"}}`},
			[]string{"schema: x.json: /service: "}},
		{"bad version", map[string]string{"x.json": `{"service":"x","version":"1.0","channels":{"c":"tcp"}}`},
			[]string{"schema: x.json: /version: "}},
		{"bad channel spec", map[string]string{"x.json": `{"service":"x","version":"1.0.0","channels":{"c":"carrier-pigeon"}}`},
			[]string{"schema: x.json: /channels/c: "}},
		{"unknown member", map[string]string{"x.json": `{"service":"x","version":"1.0.0","channels":{"c":"tcp"},"method":{}}`},
			[]string{"schema: x.json: /: "}},
		{"unknown mode", map[string]string{"orders.json": desc(`"m":{"mode":"sometimes","channel":"rpc","request":{}}`)},
			[]string{"schema: orders.json: /methods/m/mode: "}},
		{"stream over udp", map[string]string{"orders.json": desc(`"watch":{"mode":"stream","channel":"logs","request":{},"response":{}}`)},
			[]string{`schema: orders.json: /methods/watch: stream mode over udp channel "logs"; use tcp, unix or http`}},
		{"response over udp", map[string]string{"orders.json": desc(`"get":{"mode":"response","channel":"logs","request":{},"response":{}}`)},
			[]string{`schema: orders.json: /methods/get: response mode over udp channel "logs"`}},
		{"response missing", map[string]string{"orders.json": desc(`"get":{"mode":"response","channel":"rpc","request":{}}`)},
			[]string{"schema: orders.json: /methods/get: response mode needs a response schema"}},
		{"response forbidden", map[string]string{"orders.json": desc(`"t":{"mode":"ack","channel":"rpc","request":{},"response":{}}`)},
			[]string{"schema: orders.json: /methods/t/response: ack mode has no response"}},
		{"unknown channel", map[string]string{"orders.json": desc(`"t":{"mode":"ack","channel":"nope","request":{}}`)},
			[]string{`schema: orders.json: /methods/t/channel: unknown channel "nope"`}},
		{"ref to file://", map[string]string{"orders.json": desc(`"t":{"mode":"ack","channel":"rpc","request":{"$ref":"file:///etc/passwd"}}`)},
			[]string{"schema: orders.json: /methods/t/request: ", "leaves the set"}},
		{"ref to http://", map[string]string{"orders.json": desc(`"t":{"mode":"ack","channel":"rpc","request":{"$ref":"http://127.0.0.1:1/x.json"}}`)},
			[]string{"schema: orders.json: /methods/t/request: ", "leaves the set"}},
		{"ref to https://", map[string]string{"orders.json": desc(`"t":{"mode":"ack","channel":"rpc","request":{"$ref":"https://example.com/x.json#/a"}}`)},
			[]string{"leaves the set"}},
		{"ref outside the set", map[string]string{"orders.json": desc(`"t":{"mode":"ack","channel":"rpc","request":{"$ref":"missing.json#/$defs/X"}}`)},
			[]string{"schema: orders.json: /methods/t/request: ", "missing.json", "leaves the set"}},
		{"ref to a missing pointer", map[string]string{"c.defs.json": commonDefs, "orders.json": desc(`"t":{"mode":"ack","channel":"rpc","request":{"$ref":"c.defs.json#/$defs/Nope"}}`)},
			[]string{"schema: orders.json: /methods/t/request: "}},
		{"ref to itself", map[string]string{"orders.json": `{"service":"orders","version":"1.0.0","channels":{"rpc":"tcp"},"$defs":{"A":{"$ref":"#/$defs/A"}},"methods":{"t":{"mode":"ack","channel":"rpc","request":{"$ref":"#/$defs/A"}}}}`},
			[]string{"schema: orders.json: /methods/t/request: "}},
		{"ref cycle across files", map[string]string{
			"a.defs.json": `{"$defs":{"A":{"allOf":[{"$ref":"b.defs.json#/$defs/B"}]}}}`,
			"b.defs.json": `{"$defs":{"B":{"anyOf":[{"type":"string"},{"$ref":"a.defs.json#/$defs/A"}]}}}`,
			"orders.json": desc(`"t":{"mode":"ack","channel":"rpc","request":{"$ref":"a.defs.json#/$defs/A"}}`)},
			[]string{"schema: orders.json: /methods/t/request: ", "cycle"}},
		{"cycle through not and oneOf", map[string]string{"orders.json": `{"service":"orders","version":"1.0.0","channels":{"rpc":"tcp"},"$defs":{"A":{"type":"object","not":{"oneOf":[{"required":["a"]},{"$ref":"#/$defs/A"}]}}},"methods":{"t":{"mode":"ack","channel":"rpc","request":{"properties":{"x":{"$ref":"#/$defs/A"}}}}}}`},
			[]string{"schema: orders.json: /methods/t/request: ", "cycle"}},
		{"$id in a schema", map[string]string{"orders.json": desc(`"t":{"mode":"ack","channel":"rpc","request":{"properties":{"a":{"$id":"https://example.com/a","$ref":"#/x"}}}}`)},
			[]string{"schema: orders.json: /methods/t/request/properties/a/$id: $id is not supported"}},
		{"$id in a fragment", map[string]string{"c.defs.json": `{"$id":"https://example.com/c","$defs":{}}`}, []string{"schema: c.defs.json: /$id: "}},
		{"invalid JSON", map[string]string{"x.json": `{"service":`}, []string{"schema: x.json: invalid JSON"}},
		{"trailing data", map[string]string{"x.json": `{} {}`}, []string{"schema: x.json: invalid JSON"}},
		{"deep file", map[string]string{"x.json": strings.Repeat("[", 300) + strings.Repeat("]", 300)}, []string{"schema: x.json: nesting deeper than"}},
		{"duplicate version", map[string]string{"a.json": desc(""), "b.json": desc("")}, []string{"orders@1.0.0 is also declared by"}},
		{"bad schema", map[string]string{"orders.json": desc(`"t":{"mode":"ack","channel":"rpc","request":{"type":"strnig"}}`)},
			[]string{"schema: orders.json: /methods/t/request/type: value must be one of"}},
		{"bad pattern", map[string]string{"orders.json": desc(`"t":{"mode":"ack","channel":"rpc","request":{"pattern":"(?<x"}}`)},
			[]string{"schema: orders.json: /methods/t/request/pattern: ", "(?<x"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for n, b := range c.files {
				fsys[n] = &fstest.MapFile{Data: []byte(b)}
			}
			_, err := schema.LoadFS(fsys)
			if err == nil {
				t.Fatal("loaded")
			}
			t.Log(err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestRecursiveSchemaLoadsAndValidates(t *testing.T) {
	fsys := fstest.MapFS{"orders.json": {Data: []byte(`{"service":"orders","version":"1.0.0","channels":{"rpc":"tcp"},
		"$defs":{"Node":{"type":"object","properties":{"next":{"$ref":"#/$defs/Node"}},"additionalProperties":false}},
		"methods":{"t":{"mode":"ack","channel":"rpc","request":{"$ref":"#/$defs/Node"}}}}`)}}
	s, err := schema.LoadFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := s.Validator("orders", "", schema.PartRequest, "t")
	if err := v.Validate(map[string]any{"next": map[string]any{"next": map[string]any{}}}); err != nil {
		t.Fatal(err)
	}
	if err := v.Validate(map[string]any{"next": map[string]any{"x": 1.0}}); err == nil {
		t.Fatal("accepted")
	}
}

func TestPropertyNamedID(t *testing.T) {
	s := schema.NewSet()
	err := s.Add("orders.json", []byte(desc(`"t":{"mode":"ack","channel":"rpc","request":{"required":["$id"],"properties":{"$id":{"type":"string"}},"enum":[{"$id":"x"}]}}`)))
	if err != nil {
		t.Fatal(err)
	}
}

func TestAdd(t *testing.T) {
	s := schema.NewSet()
	if err := s.Add("c.defs.json", []byte(commonDefs)); err != nil {
		t.Fatal(err)
	}
	o := desc(`"t":{"mode":"ack","channel":"rpc","request":{"$ref":"c.defs.json#/$defs/Money"}}`)
	if err := s.Add("orders.json", []byte(o)); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("orders.json", []byte(o)); err != nil {
		t.Fatalf("same content again: %v", err)
	}
	if err := s.Add("orders.json", []byte(desc(""))); err == nil || !strings.Contains(err.Error(), "different content") {
		t.Fatalf("different content under the same name: %v", err)
	}
	if err := s.Add("orders-copy.json", []byte(desc(""))); err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Fatalf("same version again: %v", err)
	}
	// A failed Add leaves the set as it was.
	bad := strings.Replace(desc(`"t":{"mode":"ack","channel":"rpc","request":{"$ref":"nope.json"}}`), "1.0.0", "1.1.0", 1)
	if err := s.Add("orders-1.1.json", []byte(bad)); err == nil {
		t.Fatal("added a descriptor with a dangling ref")
	}
	if got := strings.Join(s.Files(), ","); got != "c.defs.json,orders.json" {
		t.Fatalf("files after a failed add: %s", got)
	}
	for _, v := range []string{"1.10.0", "1.9.0", "1.11.0-rc.1", "1.2.0"} {
		if err := s.Add("orders-"+v+".json", []byte(strings.Replace(desc(""), "1.0.0", v, 1))); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Service("orders").Version; got != "1.11.0-rc.1" {
		t.Fatalf("latest: %s", got)
	}
	if s.Get("orders", "1.9.0") == nil || s.Get("orders", "3.0.0") != nil || s.Service("nope") != nil {
		t.Fatal("Get")
	}
	for _, n := range []string{"../x.json", "/abs.json", "a#b.json", "x.txt", "", "a/../b.json"} {
		if err := s.Add(n, []byte(`{}`)); err == nil {
			t.Errorf("accepted file name %q", n)
		}
	}
}

func TestBundleIsSelfContained(t *testing.T) {
	s, err := schema.LoadDir("../schemas")
	if err != nil {
		t.Fatal(err)
	}
	samples := []any{decode(t, smallOrder), decode(t, largeOrder(5)), decode(t, `{"customer":{"id":"c1","email":"x"},"currency":"EUR","lines":[]}`), map[string]any{}}
	for _, d := range s.Services() {
		b, err := d.Bundle()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("common.defs.json")) {
			t.Fatalf("%s: bundle still references common.defs.json:\n%s", d.ID(), b)
		}
		alone := schema.NewSet()
		if err := alone.Add(d.File, b); err != nil {
			t.Fatalf("%s: bundle does not load alone: %v\n%s", d.ID(), err, b)
		}
		b2, err := alone.Get(d.Service, d.Version).Bundle()
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("%s: bundling a bundle changed it (%v)", d.ID(), err)
		}
		for _, p := range d.Parts() {
			v1, _ := s.Validator(d.Service, d.Version, p.Part, p.Name)
			v2, err := alone.Validator(d.Service, d.Version, p.Part, p.Name)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range samples {
				if (v1.Validate(x) == nil) != (v2.Validate(x) == nil) {
					t.Fatalf("%s %s %s: bundle and files disagree", d.ID(), p.Name, p.Part)
				}
			}
		}
	}
}

func TestValidationError(t *testing.T) {
	s, err := schema.LoadDir("../schemas")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := s.Validator("orders", "1.2.0", schema.PartRequest, "create")
	err = v.Validate(decode(t, `{"customer":{"id":"c1"},"currency":"EUR","lines":[{"sku":"ABC-1234","quantity":0,"unitPrice":{"amount":1.001,"currency":"EUR"}}]}`))
	var ve *schema.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("%T %v", err, err)
	}
	byPtr := map[string]string{}
	for _, f := range ve.Failures {
		byPtr[f.Pointer] = f.Keyword
	}
	for p, kw := range map[string]string{"/customer/email": "required", "/lines/0/quantity": "minimum", "/lines/0/unitPrice/amount": "multipleOf"} {
		if byPtr[p] != kw {
			t.Errorf("failure at %s: %q, want %q (all: %+v)", p, byPtr[p], kw, ve.Failures)
		}
	}
	if !strings.HasPrefix(err.Error(), "schema: orders@1.2.0 create request: ") || !strings.Contains(err.Error(), "/customer/email: required: missing property") {
		t.Errorf("message: %s", err)
	}
	// Many failures: the message lists a few and counts the rest.
	lines := make([]any, 30)
	for i := range lines {
		lines[i] = map[string]any{"sku": "bad"}
	}
	err = v.Validate(map[string]any{"customer": map[string]any{"id": "c"}, "currency": "EUR", "lines": lines})
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "more") || len(ve.Failures) < 30 {
		t.Errorf("many failures: %v", err)
	}
}

func TestDeepInstance(t *testing.T) {
	s, err := schema.LoadDir("../schemas", schema.WithMaxDepth(10))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := s.Validator("audit", "", schema.PartResponse, "tail")
	var deep any = "x"
	for i := 0; i < 100000; i++ {
		deep = map[string]any{"d": deep}
	}
	err = v.Validate(map[string]any{"kind": "log", "at": "2024-01-02T03:04:05Z", "data": deep})
	var ve *schema.ValidationError
	if !errors.As(err, &ve) || ve.Failures[0].Keyword != "maxDepth" || ve.Failures[0].Pointer != "/data/d/d/d/d/d/d/d/d/d" {
		t.Fatalf("%v (%+v)", err, ve)
	}
	if v.ValidJS(map[string]any{"data": deep}) {
		t.Fatal("ValidJS accepted a deep instance")
	}
	ok := map[string]any{"kind": "log", "at": "2024-01-02T03:04:05Z", "data": map[string]any{"a": []any{[]any{"x"}}}}
	if err := v.Validate(ok); err != nil {
		t.Fatal(err)
	}
}

func TestBadValues(t *testing.T) {
	s, err := schema.LoadDir("../schemas")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := s.Validator("audit", "", schema.PartRequest, "tail")
	for _, x := range []any{
		map[string]any{"limit": nanValue()}, map[string]any{"limit": infValue()},
		map[string]any{"limit": struct{}{}}, []string{"x"}, jsonNumber("1e99999"), jsonNumber("0x10"),
		jsonNumber(strings.Repeat("9", 1000)), jsonNumber("NaN"),
	} {
		if err := v.Validate(x); err == nil {
			t.Errorf("accepted %#v", x)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	channeltest.CheckLeaks(t)
	s, err := schema.LoadDir("../schemas")
	if err != nil {
		t.Fatal(err)
	}
	x := decode(t, smallOrder)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				v, err := s.Validator("orders", "", schema.PartRequest, "create")
				if err != nil || v.Validate(x) != nil {
					t.Error(err)
					return
				}
				if j == 10 {
					_ = s.Add("extra"+string(rune('a'+i))+".json", []byte(strings.Replace(strings.Replace(desc(""), "1.0.0", "2.0."+string(rune('0'+i)), 1), `"orders"`, `"extra"`, 1)))
				}
			}
		}(i)
	}
	wg.Wait()
}

// TestBooleanFragmentsAndRootRefs: a fragment file may be the boolean schema true or false;
// a $ref to "#" inside a descriptor is refused, because "#" is the descriptor, not a schema.
func TestBooleanFragmentsAndRootRefs(t *testing.T) {
	s := schema.NewSet()
	for name, body := range map[string]string{"any.json": `true`, "none.json": `false`} {
		if err := s.Add(name, []byte(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	desc := `{"service":"a","version":"1.0.0","channels":{"rpc":"tcp+json"},"methods":{
		"m":{"mode":"response","channel":"rpc","request":{"$ref":"any.json"},"response":{"$ref":"none.json"}}}}`
	if err := s.Add("a.json", []byte(desc)); err != nil {
		t.Fatal(err)
	}
	v, err := s.Validator("a", "", schema.PartRequest, "m")
	if err != nil || v.Validate(map[string]any{"x": 1}) != nil {
		t.Fatalf("true fragment: %v", err)
	}
	v, err = s.Validator("a", "", schema.PartResponse, "m")
	if err != nil || v.Validate(map[string]any{}) == nil {
		t.Fatalf("false fragment: %v", err)
	}
	if _, err := s.Service("a").Bundle(); err != nil {
		t.Fatal(err)
	}
	err = schema.NewSet().Add("b.json", []byte(`{"service":"b","version":"1.0.0","channels":{"rpc":"tcp+json"},"methods":{
		"m":{"mode":"noResponse","channel":"rpc","request":{"type":"object","properties":{"next":{"$ref":"#"}}}}}}`))
	if err == nil || !strings.Contains(err.Error(), `b.json: /methods/m/request/properties/next/$ref: $ref to "#" points at the descriptor itself`) {
		t.Fatalf("$ref to #: %v", err)
	}
	if err := schema.NewSet().Add("c.json", []byte(`3`)); err == nil || !strings.Contains(err.Error(), "top level is number") {
		t.Fatalf("number file: %v", err)
	}
}

func TestParse(t *testing.T) {
	d, err := schema.Parse("a@1.0.0.json", []byte(`{"service":"a","version":"1.0.0","channels":{"rpc":"tcp+json"},
		"methods":{"m":{"mode":"noResponse","channel":"rpc","request":{"type":"integer"}}}}`))
	if err != nil || d.ID() != "a@1.0.0" || d.File != "a@1.0.0.json" {
		t.Fatalf("%v %+v", err, d)
	}
	if _, err := d.Bundle(); err != nil {
		t.Fatal(err)
	}
	if _, err := schema.Parse("f.json", []byte(`{"type":"integer"}`)); err == nil || !strings.Contains(err.Error(), "not a service descriptor") {
		t.Fatalf("fragment: %v", err)
	}
	if _, err := schema.Parse("b.json", []byte(`{"service":"b"}`)); err == nil {
		t.Fatal("an invalid descriptor parsed")
	}
}

// TestIsDescriptor: a file is a descriptor when it is a JSON object with a top-level
// "service", whatever else it holds; anything else is a fragment.
func TestIsDescriptor(t *testing.T) {
	for doc, want := range map[string]bool{
		`{"service":"orders","version":"1.0.0"}`: true,
		`{"service":1}`:                          true,
		`{"$defs":{"service":{}}}`:               false,
		`{"type":"string"}`:                      false,
		`true`:                                   false,
		`["service"]`:                            false,
		`{"service":`:                            false,
	} {
		if got := schema.IsDescriptor([]byte(doc)); got != want {
			t.Errorf("IsDescriptor(%s) = %v, want %v", doc, got, want)
		}
	}
}
