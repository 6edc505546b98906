package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jesus-go/jesus/schema"
)

// Options say what to export.
type Options struct {
	// Services limits the document to these services (default: every service of the
	// set), each in its latest version.
	Services []string
	// Title of the document (default "jesus services: " and the service names).
	Title string
}

// pick returns the latest descriptor of each wanted service (all when none), sorted by name.
func pick(set *schema.Set, want []string) ([]*schema.Descriptor, error) {
	out, err := set.Latest(want...)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return out, nil
}

func info(descs []*schema.Descriptor, title string) map[string]any {
	var ids, names []string
	for _, d := range descs {
		ids = append(ids, d.ID())
		names = append(names, d.Service)
	}
	if title == "" {
		title = "jesus services: " + strings.Join(names, ", ")
	}
	in := map[string]any{"title": title, "version": strings.Join(ids, " ")}
	if len(descs) == 1 {
		in["version"] = descs[0].Version
		if descs[0].Description != "" {
			in["description"] = descs[0].Description
		}
	}
	return in
}

// components collects the shared schemas of several descriptors under one name each.
type components struct {
	schemas map[string]any
	// refPrefix is where a schema is found: "#/components/schemas/"; suffix is added
	// after the name ("/schema" when each schema is wrapped in a multi-format object).
	refPrefix, refSuffix string
}

// service is one descriptor's bundle with its $refs pointing into the components.
type service struct {
	d      *schema.Descriptor
	doc    map[string]any
	rename map[string]string // $defs name in the bundle -> components name
	c      *components
}

func (c *components) add(d *schema.Descriptor) (*service, error) {
	b, err := d.Bundle()
	if err != nil {
		return nil, fmt.Errorf("export: %s: %w", d.ID(), err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("export: %s: %w", d.ID(), err)
	}
	s := &service{d: d, doc: doc, rename: map[string]string{}, c: c}
	defs, _ := doc["$defs"].(map[string]any)
	for _, n := range slices.Sorted(maps.Keys(defs)) {
		name := n
		if _, own := d.Defs[n]; own {
			name = d.Service + "." + n
		}
		s.rename[n] = name
	}
	for _, n := range slices.Sorted(maps.Keys(defs)) {
		name := s.rename[n]
		body := s.rewrite(defs[n], 0)
		if old, ok := c.schemas[name]; ok && !sameJSON(old, body) {
			// Two versions of one shared file cannot meet here (one version per service),
			// but two files may give the same name: keep both.
			for i := 2; ; i++ {
				cand := fmt.Sprintf("%s_%d", name, i)
				if _, taken := c.schemas[cand]; !taken {
					name = cand
					break
				}
			}
			s.rename[n] = name
		}
		c.schemas[name] = body
	}
	// Bodies were rewritten before every rename was final; do it again with the final
	// names (renames only happen on clashes, so this is cheap and stable).
	for _, n := range slices.Sorted(maps.Keys(defs)) {
		c.schemas[s.rename[n]] = s.rewrite(defs[n], 0)
	}
	return s, nil
}

// part returns the schema at keys of the descriptor ("methods", "create", "request"),
// nil when there is none.
func (s *service) part(keys ...string) any {
	var cur any = s.doc
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	if cur == nil {
		return nil
	}
	return s.rewrite(cur, 0)
}

// rewrite copies a schema with its $refs pointing into the components. A $ref to another
// part of the descriptor (not under $defs) is replaced by a copy of its target.
func (s *service) rewrite(v any, depth int) any {
	if depth > 200 {
		return map[string]any{}
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if k == "$ref" {
				if ref, ok := e.(string); ok {
					if nr, ok := s.ref(ref); ok {
						out[k] = nr
						continue
					}
					if t := s.resolve(ref); t != nil {
						inl := s.rewrite(t, depth+1)
						if m, ok := inl.(map[string]any); ok {
							for k2, e2 := range m {
								if _, set := out[k2]; !set {
									out[k2] = e2
								}
							}
						}
						continue
					}
				}
			}
			out[k] = s.rewrite(e, depth+1)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.rewrite(e, depth+1)
		}
		return out
	}
	return v
}

func (s *service) ref(ref string) (string, bool) {
	const p = "#/$defs/"
	if !strings.HasPrefix(ref, p) {
		return "", false
	}
	name, rest, _ := strings.Cut(ref[len(p):], "/")
	nn, ok := s.rename[unescape(name)]
	if !ok {
		return "", false
	}
	out := s.c.refPrefix + escape(nn) + s.c.refSuffix
	if rest != "" {
		out += "/" + rest
	}
	return out, true
}

func (s *service) resolve(ref string) any {
	if !strings.HasPrefix(ref, "#/") {
		return nil
	}
	var cur any = s.doc
	for _, t := range strings.Split(ref[2:], "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[unescape(t)]
	}
	return cur
}

func escape(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1") }
func unescape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// contentType is the media type of a serializer, as the http transport names it.
func contentType(serializer string) string {
	switch serializer {
	case "json":
		return "application/json"
	case "msgpack":
		return "application/msgpack"
	}
	return "application/octet-stream"
}

// marshal writes v as indented JSON with sorted keys.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return buf.Bytes(), nil
}
