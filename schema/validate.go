package schema

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// maxFailures caps the failures kept in a ValidationError; maxListed caps those in its message.
const (
	maxFailures = 100
	maxListed   = 10
)

// Validator checks values against one compiled schema. It is immutable and safe for
// concurrent use.
type Validator struct {
	Service, Version string
	Part             Part
	Name             string

	js        *jsonschema.Schema
	fast      *node
	maxDepth  int
	typed     sync.Map // reflect.Type -> *typedEntry (typed.go), as msgpack writes it
	typedJSON sync.Map // the same, as encoding/json writes it
}

// Failure is one reason a value is invalid.
type Failure struct {
	Pointer       string // JSON pointer into the instance; "" is the root
	Keyword       string // the failing keyword, e.g. "required", "maximum", "type"
	SchemaPointer string // file#pointer of the failing keyword, e.g. "orders.json#/methods/create/request/required"
	Message       string
}

// ValidationError lists why a value does not match a schema.
type ValidationError struct {
	Service, Version, Part, Name string
	Failures                     []Failure
	// More counts failures beyond those kept in Failures.
	More int
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "schema: %s@%s %s %s: ", e.Service, e.Version, e.Name, e.Part)
	for i, f := range e.Failures {
		if i == maxListed {
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		p := f.Pointer
		if p == "" {
			p = "(root)"
		}
		b.WriteString(p)
		b.WriteString(": ")
		if f.Keyword != "" {
			b.WriteString(f.Keyword)
			b.WriteString(": ")
		}
		b.WriteString(f.Message)
	}
	listed := min(len(e.Failures), maxListed)
	if more := len(e.Failures) - listed + e.More; more > 0 {
		fmt.Fprintf(&b, "; and %d more", more)
	}
	return b.String()
}

func (v *Validator) newError(fs []Failure) *ValidationError {
	e := &ValidationError{Service: v.Service, Version: v.Version, Part: v.Part.String(), Name: v.Name}
	if len(fs) > maxFailures {
		e.More = len(fs) - maxFailures
		fs = fs[:maxFailures]
	}
	e.Failures = fs
	return e
}

// Validate checks a JSON-ready value (nil, bool, string, json.Number, float64, int64, uint64,
// int, []any, map[string]any) and returns nil or a *ValidationError. Values nested deeper
// than the set's max depth, NaN and infinite floats, malformed json.Numbers and other Go
// types are rejected before any schema is applied.
func (v *Validator) Validate(x any) error {
	// The fast path enforces precheck's bounds itself; precheck runs only to explain a refusal.
	if v.fast.valid(x, 0) {
		return nil
	}
	if f, ok := precheck(x, v.maxDepth); !ok {
		return v.newError([]Failure{f})
	}
	return v.explain(x)
}

// validJS reports the verdict of jsonschema/v5 alone, without the compiled fast path, for
// the tests that compare both and measure the difference (export_test.go).
func (v *Validator) validJS(x any) bool {
	if _, ok := precheck(x, v.maxDepth); !ok {
		return false
	}
	return v.js.Validate(x) == nil
}

// explain runs jsonschema/v5 to list the failures of a value the fast path refused.
func (v *Validator) explain(x any) error {
	err := v.js.Validate(x)
	var ve *jsonschema.ValidationError
	if err == nil || !errors.As(err, &ve) {
		msg := "value does not match the schema"
		if err != nil {
			msg = err.Error()
		}
		return v.newError([]Failure{{Message: msg}})
	}
	var fs []Failure
	for _, l := range leaves(ve) {
		kw := l.KeywordLocation
		if i := strings.LastIndexByte(kw, '/'); i >= 0 {
			kw = kw[i+1:]
		}
		ptr := unescapeInstance(l.InstanceLocation)
		sp := strings.TrimPrefix(l.AbsoluteKeywordLocation, baseURL)
		if kw == "required" {
			if names, ok := missingNames(l.Message); ok {
				for _, n := range names {
					fs = append(fs, Failure{Pointer: ptr + "/" + escapeToken(n), Keyword: kw, SchemaPointer: sp, Message: "missing property"})
				}
				continue
			}
		}
		fs = append(fs, Failure{Pointer: ptr, Keyword: kw, SchemaPointer: sp, Message: l.Message})
	}
	if len(fs) == 0 {
		fs = append(fs, Failure{Message: ve.Message})
	}
	// jsonschema walks properties in map order; sort for stable messages.
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Pointer != fs[j].Pointer {
			return fs[i].Pointer < fs[j].Pointer
		}
		return fs[i].Keyword < fs[j].Keyword
	})
	return v.newError(fs)
}

// leaves returns the innermost causes of a jsonschema error, depth first.
func leaves(ve *jsonschema.ValidationError) []*jsonschema.ValidationError {
	var out []*jsonschema.ValidationError
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, e)
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return out
}

// missingNames parses jsonschema's `missing properties: 'a', 'b'` (its own single quoting).
func missingNames(msg string) ([]string, bool) {
	rest, ok := strings.CutPrefix(msg, "missing properties: ")
	if !ok {
		return nil, false
	}
	var out []string
	for rest != "" {
		if rest[0] != '\'' {
			return nil, false
		}
		i := 1
		for i < len(rest) && rest[i] != '\'' {
			if rest[i] == '\\' {
				i++
			}
			i++
		}
		if i >= len(rest) {
			return nil, false
		}
		inner := strings.ReplaceAll(rest[1:i], `\'`, `'`)
		inner = strings.ReplaceAll(inner, `"`, `\"`)
		n, err := strconv.Unquote(`"` + inner + `"`)
		if err != nil {
			return nil, false
		}
		out = append(out, n)
		rest = strings.TrimPrefix(rest[i+1:], ", ")
	}
	return out, len(out) > 0
}

// unescapeInstance turns jsonschema's URL-escaped instance location into a plain JSON pointer.
func unescapeInstance(loc string) string {
	if !strings.Contains(loc, "%") {
		return loc
	}
	toks := strings.Split(loc, "/")
	for i, t := range toks {
		if u, err := url.PathUnescape(t); err == nil {
			toks[i] = u
		}
	}
	return strings.Join(toks, "/")
}

// precheck bounds the instance before any schema sees it: nesting depth, numbers that are
// not JSON numbers, and Go types that are not JSON-ready. It reads a message; compat's
// precheck, which shares only the name, reads schema documents for what the prover cannot
// follow ($schema of another draft, embedded $id).
func precheck(x any, maxDepth int) (Failure, bool) {
	f, path := check(x, 0, maxDepth)
	if f == nil {
		return Failure{}, true
	}
	var b strings.Builder
	for i := len(path) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(path[i])
	}
	f.Pointer = b.String()
	return *f, false
}

// check walks x; on failure it returns the failure and the path to it, innermost first, so
// that the valid case builds no pointers.
func check(x any, depth, maxDepth int) (*Failure, []string) {
	switch t := x.(type) {
	case nil, bool, string, int64, uint64, int:
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return &Failure{Keyword: "type", Message: fmt.Sprintf("%v is not a JSON number", t)}, nil
		}
	case json.Number:
		if len(t) > maxNumberLen {
			return &Failure{Keyword: "type", Message: fmt.Sprintf("number of %d characters exceeds the limit of %d", len(t), maxNumberLen)}, nil
		}
		if !isJSONNumber(string(t)) {
			return &Failure{Keyword: "type", Message: fmt.Sprintf("%q is not a JSON number (or its exponent has more than 3 digits)", string(t))}, nil
		}
	case []any:
		if depth >= maxDepth {
			return &Failure{Keyword: "maxDepth", Message: fmt.Sprintf("nesting exceeds the max depth of %d", maxDepth)}, nil
		}
		for i, e := range t {
			if f, p := check(e, depth+1, maxDepth); f != nil {
				return f, append(p, strconv.Itoa(i))
			}
		}
	case map[string]any:
		if depth >= maxDepth {
			return &Failure{Keyword: "maxDepth", Message: fmt.Sprintf("nesting exceeds the max depth of %d", maxDepth)}, nil
		}
		for k, e := range t {
			if f, p := check(e, depth+1, maxDepth); f != nil {
				return f, append(p, escapeToken(k))
			}
		}
	default:
		return &Failure{Keyword: "type", Message: fmt.Sprintf("Go type %T is not a JSON-ready value", x)}, nil
	}
	return nil, nil
}

// maxNumberLen bounds a json.Number: exact arithmetic on a number with a huge exponent or
// mantissa costs memory and time in proportion.
const maxNumberLen = 400

// maxExponentDigits bounds the exponent of a json.Number: 1e-320 and 1e308 need three digits,
// and exact arithmetic (math/big) on 1e999 still stays small.
const maxExponentDigits = 3

// isJSONNumber reports whether s follows the JSON number grammar, with an exponent of at most
// maxExponentDigits digits.
func isJSONNumber[T string | []byte](s T) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j || i-j > maxExponentDigits {
			return false
		}
	}
	return i == len(s)
}

func jsonTypeName(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "number"
}
