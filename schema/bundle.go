package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jesus-go/jesus/schema/internal/ref"
)

// Bundle returns the descriptor as one self-contained JSON document: every schema it reaches
// in other files of its set is copied into its own "$defs" (named after the file and the
// pointer, e.g. "common.defs.Money") and the $refs are rewritten to point there. The bundle is
// what gets published to the registry and checked for compatibility; loading it alone gives
// the same validators. Keys are sorted, so equal descriptors give equal bundles.
func (d *Descriptor) Bundle() ([]byte, error) {
	if d.set == nil {
		return nil, fmt.Errorf("schema: %s: bundle: the descriptor is not part of a set", d.File)
	}
	d.set.mu.RLock()
	files := d.set.files
	d.set.mu.RUnlock()

	b := &bundler{self: d.File, files: files, docs: map[string]any{}, names: map[string]string{}, used: map[string]bool{}, defs: map[string]any{}}
	root, err := b.doc(d.File)
	if err != nil {
		return nil, err
	}
	top, _ := root.(map[string]any)
	out := make(map[string]any, len(top))
	for k, v := range top {
		out[k] = v
	}
	ownDefs, _ := top["$defs"].(map[string]any)
	for n := range ownDefs {
		b.used[n] = true
	}
	walkParts := func(key string, parts ...string) error {
		items, _ := top[key].(map[string]any)
		if items == nil {
			return nil
		}
		nitems := make(map[string]any, len(items))
		for n, it := range items {
			obj, _ := it.(map[string]any)
			nobj := make(map[string]any, len(obj))
			for k, v := range obj {
				nobj[k] = v
			}
			for _, p := range parts {
				if sch, ok := obj[p]; ok {
					ns, err := b.schema(sch, d.File)
					if err != nil {
						return err
					}
					nobj[p] = ns
				}
			}
			nitems[n] = nobj
		}
		out[key] = nitems
		return nil
	}
	for _, w := range []struct {
		key   string
		parts []string
	}{{"methods", []string{"request", "response"}}, {"events", []string{"payload"}}, {"listens", []string{"payload"}}, {"calls", []string{"request", "response"}}} {
		if err := walkParts(w.key, w.parts...); err != nil {
			return nil, err
		}
	}
	for n, sch := range ownDefs {
		ns, err := b.schema(sch, d.File)
		if err != nil {
			return nil, err
		}
		b.defs[n] = ns
	}
	if len(b.defs) > 0 {
		out["$defs"] = b.defs
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, fmt.Errorf("schema: %s: bundle: %w", d.File, err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

type bundler struct {
	self  string
	files map[string][]byte
	docs  map[string]any
	names map[string]string // "file#pointer" -> name in $defs
	used  map[string]bool
	defs  map[string]any
}

func (b *bundler) doc(file string) (any, error) {
	if v, ok := b.docs[file]; ok {
		return v, nil
	}
	data, ok := b.files[file]
	if !ok {
		return nil, fmt.Errorf("schema: %s: bundle: %q is not in the set", b.self, file)
	}
	v, err := decodeJSON(file, data)
	if err != nil {
		return nil, err
	}
	b.docs[file] = v
	return v, nil
}

// Keywords whose values are schemas, maps of schemas, or arrays of schemas (draft 2020-12).
var (
	schemaKeywords    = []string{"additionalProperties", "propertyNames", "items", "contains", "not", "if", "then", "else", "unevaluatedItems", "unevaluatedProperties", "contentSchema", "additionalItems"}
	schemaMapKeywords = []string{"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
	schemaArrKeywords = []string{"allOf", "anyOf", "oneOf", "prefixItems", "items"}
)

// schema copies one schema found in file, rewriting its $refs.
func (b *bundler) schema(v any, file string) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return v, nil // boolean schema
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		out[k] = x
	}
	if file != b.self {
		if _, ok := m["$id"]; ok {
			return nil, fmt.Errorf("schema: %s: bundle: %s declares $id; schemas reached from other files cannot change their base", b.self, file)
		}
	}
	if ref, ok := m["$ref"].(string); ok {
		nr, err := b.ref(ref, file)
		if err != nil {
			return nil, err
		}
		out["$ref"] = nr
	}
	for _, k := range schemaKeywords {
		if x, ok := m[k]; ok {
			if _, isArr := x.([]any); isArr {
				continue
			}
			nx, err := b.schema(x, file)
			if err != nil {
				return nil, err
			}
			out[k] = nx
		}
	}
	for _, k := range schemaMapKeywords {
		if x, ok := m[k].(map[string]any); ok {
			nm := make(map[string]any, len(x))
			for n, s := range x {
				ns, err := b.schema(s, file)
				if err != nil {
					return nil, err
				}
				nm[n] = ns
			}
			out[k] = nm
		}
	}
	for _, k := range schemaArrKeywords {
		if x, ok := m[k].([]any); ok {
			na := make([]any, len(x))
			for i, s := range x {
				ns, err := b.schema(s, file)
				if err != nil {
					return nil, err
				}
				na[i] = ns
			}
			out[k] = na
		}
	}
	return out, nil
}

// ref rewrites a $ref found in file so that it resolves inside the bundle.
func (b *bundler) ref(r, file string) (string, error) {
	t, err := ref.Resolve(file, r)
	switch {
	case errors.Is(err, ref.ErrOutside):
		return "", fmt.Errorf("schema: %s: bundle: $ref %q in %s leaves the set", b.self, r, file)
	case errors.Is(err, ref.ErrAnchor):
		return "", fmt.Errorf("schema: %s: bundle: $ref %q in %s: only JSON pointer fragments can be bundled", b.self, r, file)
	case err != nil:
		return "", fmt.Errorf("schema: %s: bundle: $ref %q in %s: %w", b.self, r, file, err)
	}
	if t.File == b.self {
		return "#" + ref.Fragment(t.Pointer), nil
	}
	key := t.File + "#" + t.Pointer
	if n, ok := b.names[key]; ok {
		return "#/$defs/" + n, nil
	}
	doc, err := b.doc(t.File)
	if err != nil {
		return "", fmt.Errorf("schema: %s: bundle: $ref %q in %s: %w", b.self, r, file, err)
	}
	sch, err := ref.Walk(doc, t.Pointer)
	if err != nil {
		return "", fmt.Errorf("schema: %s: bundle: $ref %q in %s: %w", b.self, r, file, err)
	}
	n := b.name(t.File, t.Pointer)
	b.names[key] = n
	ns, err := b.schema(sch, t.File)
	if err != nil {
		return "", err
	}
	b.defs[n] = ns
	return "#/$defs/" + n, nil
}

// name picks a fresh $defs name for file#pointer: "common.defs.Money".
func (b *bundler) name(file, ptr string) string {
	base := strings.TrimSuffix(file, ".json")
	var parts []string
	for _, t := range strings.Split(ptr, "/") {
		if t == "" || t == "$defs" || t == "definitions" {
			continue
		}
		parts = append(parts, t)
	}
	n := base
	if len(parts) > 0 {
		n += "." + strings.Join(parts, ".")
	}
	n = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, n)
	cand := n
	for i := 2; b.used[cand]; i++ {
		cand = fmt.Sprintf("%s_%d", n, i)
	}
	b.used[cand] = true
	return cand
}
