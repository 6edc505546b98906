// Package compat decides whether one JSON Schema (draft 2020-12) accepts every
// instance another accepts, and applies that test to service descriptors: a
// caller's request against the receiver's, the receiver's response against
// what the caller expects, an emitter's event payload against a listener's.
// It answers compatible, incompatible with a concrete witness checked by a real
// validator, or "cannot prove" with the reason; it never passes silently.
// Descriptors are the *schema.Descriptor of package schema; a Checker keeps
// what it compiled and proved, so a fleet is re-checked only where it changed.
package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
)

// Verdict is the outcome of a check. Values are ordered by severity for
// reports: Incompatible beats Unproven beats Compatible.
type Verdict int

const (
	// Compatible means every instance valid under A is proven valid under B.
	Compatible Verdict = iota
	// Unproven means the checker could neither prove A ⊆ B nor find a
	// confirmed counterexample; Reason says why.
	Unproven
	// Incompatible means some instance is valid under A and invalid under B.
	Incompatible
)

var verdictNames = [...]string{"compatible", "cannot prove", "incompatible"}

func (v Verdict) String() string {
	if v < 0 || int(v) >= len(verdictNames) {
		return fmt.Sprintf("Verdict(%d)", int(v))
	}
	return verdictNames[v]
}

// MarshalText renders the verdict as "compatible", "incompatible" or
// "cannot prove".
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText parses the text form of MarshalText.
func (v *Verdict) UnmarshalText(b []byte) error {
	for i, n := range verdictNames {
		if string(b) == n {
			*v = Verdict(i)
			return nil
		}
	}
	return fmt.Errorf("compat: unknown verdict %q", b)
}

// ExitCode maps the verdict to the exit status of `jesus check`: 0 compatible,
// 1 incompatible, 2 cannot prove.
func (v Verdict) ExitCode() int {
	switch v {
	case Compatible:
		return 0
	case Incompatible:
		return 1
	default:
		return 2
	}
}

// worse returns the more severe of two verdicts.
func worse(a, b Verdict) Verdict {
	if b > a {
		return b
	}
	return a
}

// Schema names a subschema: a decoded JSON document plus the JSON pointer of
// the subschema inside it. Documents are values as produced by encoding/json
// (map[string]any, []any, string, bool, nil, float64 or json.Number).
type Schema struct {
	// Root is the document that local references such as "#/$defs/X"
	// resolve against.
	Root any
	// Pointer is the JSON pointer of the subschema within Root; "" is Root.
	Pointer string
	// Name is Root's file name, against which relative references such as
	// "common.defs.json#/$defs/X" resolve. Empty means "root.json".
	Name string
	// Files holds the other documents of the same set by file name.
	Files map[string]any
}

// Difference is one reason why A is not contained in B.
type Difference struct {
	// Pointer is the JSON pointer of the instance location, e.g.
	// "/customer/email"; "" is the instance itself.
	Pointer string `json:"pointer"`
	// Reason is a one-line explanation.
	Reason string `json:"reason"`
	// confirmed: a value shows this difference at Pointer.
	confirmed bool
}

// Result is the outcome of Check.
type Result struct {
	Verdict Verdict `json:"verdict"`
	// Witness is a JSON value valid under A and invalid under B, confirmed
	// with a JSON Schema validator. Set only when Verdict is Incompatible.
	Witness any `json:"witness,omitempty"`
	// Differences lists what the checker found; for Unproven results they
	// are the suspected differences that no witness confirmed.
	Differences []Difference `json:"differences,omitempty"`
	// Reason summarises the verdict in one line.
	Reason string `json:"reason,omitempty"`
}

// Option configures Check.
type Option interface{ apply(*options) }

type options struct {
	aName, bName string
	maxSteps     int
	maxDepth     int
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithNames sets how differences refer to the two sides (default "A" and
// "B"), e.g. "caller" and "billing@2.0.0".
func WithNames(a, b string) Option {
	return optionFunc(func(o *options) { o.aName, o.bName = a, b })
}

// WithBudget bounds the work of one Check: the number of (A, B) pairs
// visited and the nesting depth. Exceeding either makes the result Unproven.
// Defaults: 20000 steps, depth 128.
func WithBudget(steps, depth int) Option {
	return optionFunc(func(o *options) {
		if steps > 0 {
			o.maxSteps = steps
		}
		if depth > 0 {
			o.maxDepth = depth
		}
	})
}

func defaultOptions() options {
	return options{aName: "A", bName: "B", maxSteps: 20000, maxDepth: 128}
}

// Check reports whether every instance valid under a is valid under b.
// It is safe to call from several goroutines at once; it does not modify
// the documents.
func Check(a, b Schema, opts ...Option) Result {
	o := defaultOptions()
	for _, opt := range opts {
		opt.apply(&o)
	}
	docs := map[string]any{}
	an := addDocs(docs, "a", a)
	bn := addDocs(docs, "b", b)
	c := newChecker(docs, o)
	return c.top(node{file: an, ptr: a.Pointer}, node{file: bn, ptr: b.Pointer})
}

// CheckJSON is Check for two standalone schema documents given as JSON text.
func CheckJSON(a, b []byte, opts ...Option) (Result, error) {
	da, err := decodeJSON(a)
	if err != nil {
		return Result{}, fmt.Errorf("compat: schema A: %w", err)
	}
	db, err := decodeJSON(b)
	if err != nil {
		return Result{}, fmt.Errorf("compat: schema B: %w", err)
	}
	return Check(Schema{Root: da}, Schema{Root: db}, opts...), nil
}

// maxDocBytes bounds the JSON text accepted by the decoding helpers.
const maxDocBytes = 8 << 20

func decodeJSON(data []byte) (any, error) {
	if len(data) > maxDocBytes {
		return nil, fmt.Errorf("document of %d bytes exceeds the limit of %d bytes", len(data), maxDocBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON document")
	}
	return v, nil
}

// addDocs places s's documents under the namespace ns so that the two sides
// of a check may both have, say, a different "common.defs.json".
func addDocs(docs map[string]any, ns string, s Schema) string {
	name := s.Name
	if name == "" {
		name = "root.json"
	}
	for fn, d := range s.Files {
		docs[path.Join(ns, path.Clean("/" + fn)[1:])] = d
	}
	full := path.Join(ns, path.Clean("/" + name)[1:])
	docs[full] = s.Root
	return full
}
