// Package ref is how the schema packages read a $ref and compile a schema: one resolver
// and one jsonschema/v5 compiler setup, shared by package schema (sets, bundles) and
// package schema/compat (the compatibility prover), so that what one of them finds behind
// a $ref is what the other finds, and what the validator finds.
//
// Files are named by slash-separated relative names ("orders.json", "shared/money.json");
// inside the compiler a file lives at Base + its name.
package ref

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Draft is the dialect of every schema: JSON Schema draft 2020-12.
const Draft = "https://json-schema.org/draft/2020-12/schema"

// Base is the URL namespace of files inside the compiler.
const Base = "jesus-set:///"

// Errors of Resolve, for callers that word them their own way.
var (
	// ErrOutside: the reference names something other than a file of the set (an
	// absolute URI, a host, a query).
	ErrOutside = errors.New("leaves the set of files")
	// ErrAnchor: the fragment is a plain-name anchor, not a JSON pointer.
	ErrAnchor = errors.New("names an anchor; only JSON pointer fragments are supported")
)

// Target is where a $ref leads: a file and a JSON pointer (RFC 6901, "" for the whole
// document) inside it.
type Target struct {
	File    string // relative to the root of the set
	Pointer string // "~" and "/" of a token escaped, nothing else
}

// Resolve reads r, the value of a $ref found in file, the way the compiler does: the
// reference is resolved as a URI against the file's URL, and the fragment is read token
// by token as jsonschema/v5 reads it ("~1", "~0", then percent-escapes). It does not look
// at any document: the target may not exist.
func Resolve(file, r string) (Target, error) {
	u, err := url.Parse(r)
	if err != nil {
		return Target{}, fmt.Errorf("%w: %v", ErrOutside, err)
	}
	if u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || u.RawQuery != "" || u.ForceQuery ||
		strings.Contains(u.Path, ":") {
		return Target{}, ErrOutside
	}
	t := Target{File: file}
	if u.Path != "" {
		// Dot segments are removed from the path as written: "..%2F" is no step up.
		base := &url.URL{Scheme: "jesus-set", Path: "/" + file}
		t.File = strings.TrimPrefix(base.ResolveReference(&url.URL{Path: u.Path, RawPath: u.RawPath}).Path, "/")
	}
	frag := u.EscapedFragment()
	if frag == "" || frag == "/" {
		return t, nil
	}
	if !strings.HasPrefix(frag, "/") {
		return Target{}, ErrAnchor
	}
	var b strings.Builder
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		tok, err := url.PathUnescape(tok)
		if err != nil {
			return Target{}, fmt.Errorf("fragment %q: %v", frag, err)
		}
		b.WriteByte('/')
		b.WriteString(EscapeToken(tok))
	}
	t.Pointer = b.String()
	return t, nil
}

// Fragment returns a JSON pointer as the fragment of a URL, without the "#".
func Fragment(ptr string) string { return (&url.URL{Fragment: ptr}).EscapedFragment() }

// EscapeToken escapes one reference token of a JSON pointer ("~" and "/").
func EscapeToken(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// unescapeToken undoes EscapeToken.
func unescapeToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// Walk follows the JSON pointer ptr (RFC 6901, as a Target holds it) in a decoded document.
// Array indexes are read as the validator reads them (strconv.Atoi).
func Walk(doc any, ptr string) (any, error) {
	if ptr == "" {
		return doc, nil
	}
	if !strings.HasPrefix(ptr, "/") {
		return nil, fmt.Errorf("pointer %q does not start with /", ptr)
	}
	cur := doc
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = unescapeToken(tok)
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("pointer %q: no member %q", ptr, tok)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, fmt.Errorf("pointer %q: bad index %q", ptr, tok)
			}
			cur = c[i]
		default:
			v, _ := json.Marshal(cur)
			return nil, fmt.Errorf("pointer %q: %q goes into %s, which is neither an object nor an array", ptr, tok, v)
		}
	}
	return cur, nil
}

// URL returns the compiler's URL of the schema at ptr in file.
func URL(file, ptr string) string { return Base + file + "#" + Fragment(ptr) }

// NewCompiler returns a compiler for draft 2020-12 with formats asserted that reads a file
// through load when a schema first needs it, and refuses any other URL. load gets the name
// as it follows Base in the URL (percent-escaped as the compiler spells it); a nil load
// refuses every file not added with AddResource. A descriptor's top-level "$schema" is left
// out of what the compiler sees (see Doc).
func NewCompiler(load func(name string) ([]byte, bool)) *jsonschema.Compiler {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.AssertFormat = true
	c.LoadURL = func(u string) (io.ReadCloser, error) {
		if name, ok := strings.CutPrefix(u, Base); ok && load != nil {
			if b, ok := load(name); ok {
				return io.NopCloser(bytes.NewReader(Doc(b))), nil
			}
		}
		return nil, Refuse(u)
	}
	return c
}

// Refuse is the error for a URL the compiler may not load.
func Refuse(u string) error {
	return fmt.Errorf("$ref to %q leaves the set of schema files (only files of the set can be referenced, by relative name)", u)
}

// Doc returns a file as the compiler sees it. The top-level "$schema" of a descriptor is a
// hint for editors (often a relative path to descriptor.schema.json); the top level of a
// descriptor is not a schema, and its schemas are draft 2020-12 whatever it says, so it is
// left out.
func Doc(b []byte) []byte {
	// The key is spelled "$schema" or with \u escapes; a file with neither is kept as is.
	if !bytes.Contains(b, []byte(`"$schema"`)) && !bytes.Contains(b, []byte(`\u`)) {
		return b
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil {
		return b
	}
	if _, ok := top["$schema"]; !ok || !IsDescriptor(top) {
		return b
	}
	delete(top, "$schema")
	out, err := json.Marshal(top)
	if err != nil {
		return b
	}
	return out
}

// IsDescriptor tells a service descriptor (an object with a "service") from a schema.
func IsDescriptor[V any](top map[string]V) bool {
	_, ok := top["service"]
	return ok
}

// PanicError is a panic inside jsonschema/v5 while compiling, turned into an error.
type PanicError struct {
	URL   string // the schema being compiled (see URL)
	Value any    // what the compiler panicked with
}

// Error names the schema and what the compiler panicked with.
func (e *PanicError) Error() string {
	return fmt.Sprintf("the schema compiler failed on %s (%v)", e.URL, e.Value)
}

// Compile compiles the schema at ptr in file. A panic inside the compiler (jsonschema/v5
// leaves its state half-built after some failures and may panic on a later reference into
// the same file) is returned as a *PanicError, so that no input can crash the process.
func Compile(c *jsonschema.Compiler, file, ptr string) (s *jsonschema.Schema, err error) {
	u := URL(file, ptr)
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, &PanicError{URL: u, Value: r}
		}
	}()
	return c.Compile(u)
}
