package compat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/jesus-go/jesus/schema/internal/ref"
)

// validator validates instances against schema locations with
// santhosh-tekuri/jsonschema/v5, the validator the rest of jesus uses.
type validator struct {
	c     *jsonschema.Compiler
	cache map[string]*jsonschema.Schema
	errs  map[string]error
	// byContent, when set, compiles a subschema without references once per
	// content: its meaning does not depend on where it sits, and a fleet of
	// descriptors repeats the same schemas many times.
	byContent map[string]*jsonschema.Schema
}

func newValidator(docs map[string]any) *validator {
	// Documents are handed to the validator when a schema first needs them,
	// not all up front: a check usually touches two or three files of a set.
	c := ref.NewCompiler(func(name string) ([]byte, bool) {
		name, err := url.PathUnescape(name)
		if err != nil {
			return nil, false
		}
		d, found := docs[name]
		if !found {
			return nil, false
		}
		b, err := json.Marshal(d)
		return b, err == nil
	})
	return &validator{c: c, cache: map[string]*jsonschema.Schema{}, errs: map[string]error{}}
}

func (v *validator) schema(n node) (*jsonschema.Schema, error) {
	full := ref.URL(n.file, n.ptr)
	if s, ok := v.cache[full]; ok {
		return s, nil
	}
	if err, ok := v.errs[full]; ok {
		return nil, err
	}
	var s *jsonschema.Schema
	var err error
	if v.byContent != nil && !hasRef(n.v) {
		s, err = v.content(n.v)
	} else {
		s, err = compileSafe(v.c, n.file, n.ptr)
	}
	if err != nil {
		v.errs[full] = err
		return nil, err
	}
	v.cache[full] = s
	return s, nil
}

func (v *validator) content(x any) (*jsonschema.Schema, error) {
	b, err := json.Marshal(x) // map keys sorted: equal schemas, equal text
	if err != nil {
		return nil, err
	}
	if s, ok := v.byContent[string(b)]; ok {
		return s, nil
	}
	name := fmt.Sprintf("content/%d.json", len(v.byContent))
	if err := v.c.AddResource(ref.Base+name, bytes.NewReader(b)); err != nil {
		return nil, err
	}
	s, err := compileSafe(v.c, name, "")
	if err != nil {
		return nil, err
	}
	v.byContent[string(b)] = s
	return s, nil
}

// compileSafe compiles the schema at ptr in file, a panic of the compiler
// included among the errors.
func compileSafe(c *jsonschema.Compiler, file, ptr string) (*jsonschema.Schema, error) {
	s, err := ref.Compile(c, file, ptr)
	var pe *ref.PanicError
	if errors.As(err, &pe) {
		return nil, fmt.Errorf("compat: compiling %s: %v", pe.URL, pe.Value)
	}
	return s, err
}

// valid reports whether x is valid under n.
func (v *validator) valid(n node, x any) (bool, error) {
	s, err := v.schema(n)
	if err != nil {
		return false, err
	}
	return s.Validate(x) == nil, nil
}

// maxDocDepth bounds the JSON nesting of checked documents (a schema level
// is usually two JSON levels, e.g. properties → name).
const maxDocDepth = 256

// precheck refuses documents whose references the checker would resolve
// differently from the validator: other drafts ($schema) and embedded
// resources ($id below the document root) in any document of f's set.
// It reads schema documents, before the prover compares them; package
// schema's precheck, which shares only the name, bounds an instance (a
// message) before it is validated. A descriptor is told from a schema by
// ref.IsDescriptor, as the validator tells it when it leaves a descriptor's
// own "$schema" out (ref.Doc).
func precheck(docs map[string]any, f string) error {
	prefix := path.Dir(f) + "/"
	budget := 1 << 20
	// Below these keywords the keys are names, not keywords.
	nameMaps := map[string]bool{"properties": true, "patternProperties": true, "$defs": true,
		"definitions": true, "dependentSchemas": true, "dependentRequired": true}
	inDesc := false
	var walk func(v any, root, names bool, name string, depth int) error
	walk = func(v any, root, names bool, name string, depth int) error {
		if budget--; budget < 0 {
			return fmt.Errorf("compat: document %q is too large to check (more than %d values)", name, 1<<20)
		}
		if depth > maxDocDepth {
			return fmt.Errorf("compat: document %q nests deeper than %d levels", name, maxDocDepth)
		}
		switch t := v.(type) {
		case map[string]any:
			if !names {
				if s, ok := t["$schema"].(string); ok && strings.TrimSuffix(s, "#") != ref.Draft && !(root && ref.IsDescriptor(t)) {
					return fmt.Errorf("compat: %q declares $schema %q; only draft 2020-12 is supported", name, s)
				}
				if _, ok := t["$id"]; ok && !root {
					return fmt.Errorf("compat: %q embeds a resource with $id; not supported", name)
				}
				if r, ok := t["$ref"].(string); ok && inDesc && (r == "#" || r == "") {
					return fmt.Errorf("compat: %q: $ref %q points at a service descriptor, which is not a schema", name, r)
				}
			}
			for k, e := range t {
				if err := walk(e, false, !names && nameMaps[k], name, depth+1); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range t {
				if err := walk(e, false, false, name, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for name, d := range docs {
		if strings.HasPrefix(name, prefix) {
			m, _ := d.(map[string]any)
			inDesc = m != nil && ref.IsDescriptor(m)
			if err := walk(d, true, false, path.Base(name), 0); err != nil {
				return err
			}
		}
	}
	return nil
}
