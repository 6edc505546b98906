package schema

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/jesus-go/jesus/schema/internal/ref"
)

// Compiling the schemas of a set with jsonschema/v5, guarded so that no file can crash the
// process that loads it.

// compiledDraft is the JSON Schema 2020-12 meta-schema, used to check every file as a schema
// document before the compiler sees it: jsonschema/v5 leaves its state half-built after such a
// failure and panics on the next reference into the same file.
var compiledDraft = sync.OnceValue(func() *jsonschema.Schema {
	meta, err := jsonschema.NewCompiler().Compile(ref.Draft)
	if err != nil {
		panic("schema: draft 2020-12 meta-schema: " + err.Error()) // built into jsonschema/v5
	}
	return meta
})

// checkDraft checks a whole file as a draft 2020-12 schema document ($defs and every keyword
// the dialect knows), so that the compiler only ever sees well-formed schemas. A descriptor's
// top-level "$schema" is not checked (see ref.Doc).
func checkDraft(name string, v any) error {
	if obj, ok := v.(map[string]any); ok {
		if ref.IsDescriptor(obj) {
			if _, ok := obj["$schema"]; ok {
				c := maps.Clone(obj)
				delete(c, "$schema")
				v = c
			}
		}
	}
	if err := compiledDraft().Validate(v); err != nil {
		return metaError(name, err)
	}
	return nil
}

// compile compiles one schema of the set; a panic inside jsonschema/v5 becomes an error that
// names the file and the pointer, so that no input file can crash a process that loads it.
func compile(c *jsonschema.Compiler, file, ptr string) (*jsonschema.Schema, error) {
	js, err := ref.Compile(c, file, ptr)
	var pe *ref.PanicError
	if errors.As(err, &pe) {
		return nil, fmt.Errorf("schema: %s: %s: the schema compiler failed on this schema (%v); check its keywords and $refs", file, ptr, pe.Value)
	}
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		// The schema fails the draft's meta-schema: name the file's own pointers, not
		// the draft's internals.
		return nil, metaError(file, ve)
	}
	if err != nil {
		return nil, fmt.Errorf("schema: %s: %s: %s", file, ptr, compileMessage(err))
	}
	return js, nil
}

// compileDescriptor compiles every schema of d and stores its validators in out.
func (s *Set) compileDescriptor(c *jsonschema.Compiler, d *Descriptor, out map[vkey]*Validator) error {
	var errs []error
	for _, pr := range d.Parts() {
		ptr := pr.Part.pointer(pr.Name)
		js, err := compile(c, d.File, ptr)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if cyc := inplaceCycle(js); cyc != "" {
			errs = append(errs, fmt.Errorf("schema: %s: %s: $ref cycle that never consumes input, cannot be satisfied: %s", d.File, ptr, cyc))
			continue
		}
		v := &Validator{
			Service: d.Service, Version: d.Version, Part: pr.Part, Name: pr.Name,
			js: js, fast: compileFast(js, s.opts.maxDepth), maxDepth: s.opts.maxDepth,
		}
		out[vkey{d.Service, d.Version, pr.Part, pr.Name}] = v
	}
	return errors.Join(errs...)
}

// compileMessage shortens a jsonschema compile error and strips the set's URL prefix.
func compileMessage(err error) string {
	msg := err.Error()
	var se *jsonschema.SchemaError
	if errors.As(err, &se) && se.Err != nil {
		msg = se.Err.Error()
	}
	msg = strings.ReplaceAll(strings.TrimPrefix(msg, "jsonschema: "), baseURL, "")
	if rest, ok := strings.CutPrefix(msg, "infinite loop "); ok {
		msg = "$ref cycle that never consumes input, cannot be satisfied: " + rest
	}
	return msg
}
