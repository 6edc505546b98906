package compat

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jesus-go/jesus/schema/internal/ref"
)

// node is one schema location: a document, a pointer into it and the value
// found there (bool or map[string]any).
type node struct {
	file string
	ptr  string
	v    any
}

func (n node) key() string { return n.file + "#" + n.ptr }

func (n node) obj() map[string]any {
	m, _ := n.v.(map[string]any)
	return m
}

// isTrue reports whether n accepts everything: the boolean schema true or an
// object without any assertion keyword.
func (n node) isTrue() bool {
	switch v := n.v.(type) {
	case bool:
		return v
	case map[string]any:
		for k := range v {
			if !annotation(k) {
				return false
			}
		}
		return true
	}
	return false
}

func (n node) isFalse() bool { b, ok := n.v.(bool); return ok && !b }

func (n node) child(keys ...string) node {
	p := n.ptr
	for _, k := range keys {
		p += "/" + ref.EscapeToken(k)
	}
	return node{file: n.file, ptr: p, v: lookup(n.v, keys)}
}

func lookup(v any, keys []string) any {
	for _, k := range keys {
		switch t := v.(type) {
		case map[string]any:
			v = t[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(t) {
				return nil
			}
			v = t[i]
		default:
			return nil
		}
	}
	return v
}

var errNoSchema = errors.New("not a schema")

// at returns the node at pointer ptr of document file.
func at(docs map[string]any, file, ptr string) (node, error) {
	doc, ok := docs[file]
	if !ok {
		return node{}, fmt.Errorf("compat: no document %q", path.Base(file))
	}
	v, err := ref.Walk(doc, ptr)
	if err != nil {
		return node{}, fmt.Errorf("compat: %v in %q", err, path.Base(file))
	}
	switch v.(type) {
	case bool, map[string]any:
		return node{file: file, ptr: ptr, v: v}, nil
	}
	return node{}, fmt.Errorf("compat: %q at %q in %q: %w", ptr, ptr, path.Base(file), errNoSchema)
}

// resolveRef resolves a $ref value found in from as the validator does
// (ref.Resolve): a JSON pointer into from's document or into another document
// of the set, named relative to from's file.
func resolveRef(docs map[string]any, from node, r string) (node, error) {
	t, err := ref.Resolve(from.file, r)
	switch {
	case errors.Is(err, ref.ErrOutside):
		return node{}, fmt.Errorf("compat: $ref %q: only references to the documents of the set are supported", r)
	case errors.Is(err, ref.ErrAnchor):
		return node{}, fmt.Errorf("compat: $ref %q: anchors are not supported", r)
	case err != nil:
		return node{}, fmt.Errorf("compat: $ref %q: %v", r, err)
	}
	if m, ok := docs[t.File].(map[string]any); ok && t.Pointer == "" && ref.IsDescriptor(m) {
		return node{}, fmt.Errorf("compat: $ref %q points at a service descriptor, which is not a schema", r)
	}
	return at(docs, t.File, t.Pointer)
}

// kinds is a set of JSON value kinds; numbers are split into integers and
// non-integers so that "integer" ⊆ "number" is a subset relation.
type kinds uint8

const (
	kNull kinds = 1 << iota
	kBool
	kObj
	kArr
	kStr
	kInt
	kFrac
	kNum = kInt | kFrac
	kAll = kNull | kBool | kObj | kArr | kStr | kNum
)

var kindNames = []struct {
	k    kinds
	name string
}{{kNull, "null"}, {kBool, "boolean"}, {kObj, "object"}, {kArr, "array"}, {kStr, "string"}, {kInt, "integer"}, {kFrac, "non-integer number"}}

func (k kinds) String() string {
	if k == kAll {
		return "any type"
	}
	var parts []string
	if k&kNum == kNum {
		k &^= kNum
		parts = append(parts, "number")
	}
	for _, kn := range kindNames {
		if k&kn.k != 0 {
			parts = append(parts, kn.name)
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

func (k kinds) each() []kinds {
	var out []kinds
	for _, kn := range kindNames {
		if k&kn.k != 0 {
			out = append(out, kn.k)
		}
	}
	return out
}

func typeName(s string) kinds {
	switch s {
	case "null":
		return kNull
	case "boolean":
		return kBool
	case "object":
		return kObj
	case "array":
		return kArr
	case "string":
		return kStr
	case "integer":
		return kInt
	case "number":
		return kNum
	}
	return 0
}

// typeKinds returns the kinds allowed by a "type" keyword value (nil: all).
func typeKinds(t any) kinds {
	switch v := t.(type) {
	case nil:
		return kAll
	case string:
		return typeName(v)
	case []any:
		var k kinds
		for _, e := range v {
			if s, ok := e.(string); ok {
				k |= typeName(s)
			}
		}
		return k
	}
	return kAll
}

// kindOf returns the kind of a JSON value.
func kindOf(v any) kinds {
	switch t := v.(type) {
	case nil:
		return kNull
	case bool:
		return kBool
	case map[string]any:
		return kObj
	case []any:
		return kArr
	case string:
		return kStr
	default:
		if r, ok := toRat(t); ok {
			if r.IsInt() {
				return kInt
			}
			return kFrac
		}
	}
	return 0
}

// toRat converts a JSON number to an exact rational, the way the validator
// does (through its shortest decimal text).
func toRat(v any) (*big.Rat, bool) {
	switch t := v.(type) {
	case json.Number:
		r, ok := new(big.Rat).SetString(string(t))
		return r, ok
	case float64, float32, int, int64, int32, uint, uint64, uint32, int8, uint8:
		r, ok := new(big.Rat).SetString(fmt.Sprint(t))
		return r, ok
	}
	return nil, false
}

// ratValue renders r as a JSON number.
func ratValue(r *big.Rat) json.Number {
	if r.IsInt() {
		return json.Number(r.Num().String())
	}
	s := r.FloatString(24)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if back, ok := new(big.Rat).SetString(s); ok && back.Cmp(r) == 0 {
		return json.Number(s)
	}
	// Not a short decimal: the nearest float64 is close enough for a
	// candidate (witnesses are validated before they are reported).
	f, _ := r.Float64()
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
}

// toInt reads a non-negative integer keyword such as minLength.
func toInt(v any) (int64, bool) {
	r, ok := toRat(v)
	if !ok || !r.IsInt() || !r.Num().IsInt64() {
		if ok && r.IsInt() && r.Sign() > 0 {
			return 1 << 62, true
		}
		return 0, false
	}
	return r.Num().Int64(), true
}

// jsonEqual compares JSON values the way JSON Schema does (numbers by value).
func jsonEqual(a, b any) bool {
	ra, aNum := toRat(a)
	rb, bNum := toRat(b)
	if aNum || bNum {
		return aNum && bNum && ra.Cmp(rb) == 0
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

// render shows a JSON value in a reason, shortened.
func render(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 60 {
		cut := 57
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// hasRef reports whether a keyword value contains a reference, whose meaning
// depends on the document it sits in.
func hasRef(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if k == "$ref" || k == "$dynamicRef" || k == "$recursiveRef" || hasRef(e) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if hasRef(e) {
				return true
			}
		}
	}
	return false
}
