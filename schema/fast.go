package schema

import (
	"encoding/json"
	"math"
	"regexp"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// The fast path: every compiled jsonschema.Schema is mirrored by a node of plain checks for
// the keywords below. A schema that uses anything else becomes a fallback node that asks
// jsonschema/v5 itself, so the verdict never differs; a root that can reach a dynamic
// reference or a draft other than 2020-12 falls back as a whole, because those depend on the
// path taken to reach a schema.

// Type bits.
const (
	tNull uint8 = 1 << iota
	tBool
	tNumber
	tInteger
	tString
	tArray
	tObject
)

type node struct {
	js       *jsonschema.Schema
	fallback bool
	always   int8 // 1: true schema, -1: false schema
	maxDepth int

	// objCovered/arrCovered: every member/item of an object/array value is visited by this
	// node or by an in-place applicator that is always evaluated ($ref, allOf), so the
	// bounds of those members are checked on the way. Otherwise the node checks the members
	// it does not visit itself (see check).
	objCovered, arrCovered bool

	types  uint8
	consts []lit // const (one) or nil
	enum   []lit
	format func(any) bool
	// fastFormat, where set, accepts a subset of what format accepts, from the bytes.
	fastFormat func([]byte) bool

	minProps, maxProps int
	required           []string
	props              []propNode
	propSet            map[string]struct{}
	propIdx            map[string]int // name -> index in props, for the encoded-bytes walker
	reqIdx             []int          // index in props of each required name, or -1
	patternProps       []patNode
	addl               int8 // 0: none, 1: false, 2: schema
	addlNode           *node
	depRequired        map[string][]string

	minItems, maxItems int
	unique             bool
	prefix             []*node
	items              *node

	minLen, maxLen int
	pattern        *regexp.Regexp
	simple         simplePattern // pattern without the regexp engine, where it is simple

	hasNum                bool
	min, exMin, max, exMx *bound
	mult                  *multiple

	ref, not            *node
	refOnly             bool // the node is just a $ref: validating it is validating ref
	stream              bool // the node and all it reaches check each value once (stream.go)
	valueChecks         bool // const, enum or format
	applicators         bool // $ref, not, allOf, anyOf, oneOf or if
	allOf, anyOf, oneOf []*node
	ifN, thenN, elseN   *node
}

type propNode struct {
	name string
	n    *node
}

type patNode struct {
	re     *regexp.Regexp
	simple simplePattern
	n      *node
}

// lit is a const or enum value; numbers carry a precomputed bound for exact comparison.
type lit struct {
	v   any
	num *bound
}

// valid reports whether x matches the schema of n, with the verdict of jsonschema/v5. It
// also enforces precheck's bounds on every part of x (depth, JSON numbers, Go types): on the
// members it visits directly, and with check on those it would skip; so a true result means
// precheck passes too.
func (n *node) valid(x any, depth int) bool {
	if n.fallback {
		f, _ := check(x, depth, n.maxDepth)
		return f == nil && n.js.Validate(x) == nil
	}
	if n.always != 0 {
		if n.always < 0 {
			return false
		}
		f, _ := check(x, depth, n.maxDepth)
		return f == nil
	}
	switch t := x.(type) {
	case map[string]any, []any:
		if depth >= n.maxDepth {
			return false
		}
	case string, nil, bool, int64, uint64, int:
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) {
			return false
		}
	case json.Number:
		if len(t) > maxNumberLen || !isJSONNumber(string(t)) {
			return false
		}
	default:
		return false
	}
	if n.types != 0 && !n.typeOK(x) {
		return false
	}
	if n.consts != nil && !n.consts[0].equal(x) {
		return false
	}
	if n.enum != nil {
		ok := false
		for i := range n.enum {
			if n.enum[i].equal(x) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if n.format != nil && !n.format(x) {
		return false
	}
	switch t := x.(type) {
	case map[string]any:
		if !n.validObject(t, depth) {
			return false
		}
	case []any:
		if !n.validArray(t, depth) {
			return false
		}
	case string:
		if n.minLen >= 0 && len(t) < n.minLen {
			return false // fewer bytes than minLen, so fewer code points
		}
		// A string has at most len(t) and at least len(t)/4 code points: count only when
		// the byte length does not settle it.
		if n.maxLen >= 0 && len(t) > n.maxLen || n.minLen > 0 && len(t) < 4*n.minLen {
			c := utf8.RuneCountInString(t)
			if n.minLen >= 0 && c < n.minLen || n.maxLen >= 0 && c > n.maxLen {
				return false
			}
		}
		if n.pattern != nil && !n.pattern.MatchString(t) {
			return false
		}
	case nil, bool:
	default:
		if n.hasNum && !n.validNumber(x) {
			return false
		}
	}
	if n.ref != nil && !n.ref.valid(x, depth) {
		return false
	}
	if n.not != nil && n.not.valid(x, depth) {
		return false
	}
	for _, c := range n.allOf {
		if !c.valid(x, depth) {
			return false
		}
	}
	if n.anyOf != nil {
		ok := false
		for _, c := range n.anyOf {
			if c.valid(x, depth) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if n.oneOf != nil {
		matched := 0
		for _, c := range n.oneOf {
			if c.valid(x, depth) {
				matched++
				if matched > 1 {
					return false
				}
			}
		}
		if matched != 1 {
			return false
		}
	}
	if n.ifN != nil {
		if n.ifN.valid(x, depth) {
			if n.thenN != nil && !n.thenN.valid(x, depth) {
				return false
			}
		} else if n.elseN != nil && !n.elseN.valid(x, depth) {
			return false
		}
	}
	return true
}

func (n *node) typeOK(x any) bool {
	var k uint8
	switch x.(type) {
	case nil:
		k = tNull
	case bool:
		k = tBool
	case string:
		k = tString
	case []any:
		k = tArray
	case map[string]any:
		k = tObject
	default:
		k = tNumber
	}
	if n.types&k != 0 {
		return true
	}
	return k == tNumber && n.types&tInteger != 0 && isInteger(x)
}

func (n *node) validObject(m map[string]any, depth int) bool {
	if n.minProps >= 0 && len(m) < n.minProps || n.maxProps >= 0 && len(m) > n.maxProps {
		return false
	}
	for _, r := range n.required {
		if _, ok := m[r]; !ok {
			return false
		}
	}
	found := 0
	for _, p := range n.props {
		if v, ok := m[p.name]; ok {
			found++
			if !p.n.valid(v, depth+1) {
				return false
			}
		}
	}
	for _, p := range n.patternProps {
		for k, v := range m {
			if p.re.MatchString(k) && !p.n.valid(v, depth+1) {
				return false
			}
		}
	}
	// Members beyond the declared properties exist only when found < len(m).
	if found < len(m) && (n.addl != 0 || !n.objCovered) {
		for k, v := range m {
			if _, ok := n.propSet[k]; ok {
				continue
			}
			matched := false
			for _, p := range n.patternProps {
				if p.re.MatchString(k) {
					matched = true
					break
				}
			}
			if matched {
				continue
			}
			switch {
			case n.addl == 1:
				return false
			case n.addl == 2:
				if !n.addlNode.valid(v, depth+1) {
					return false
				}
			default:
				if f, _ := check(v, depth+1, n.maxDepth); f != nil {
					return false
				}
			}
		}
	}
	for k, deps := range n.depRequired {
		if _, ok := m[k]; ok {
			for _, d := range deps {
				if _, ok := m[d]; !ok {
					return false
				}
			}
		}
	}
	return true
}

func (n *node) validArray(a []any, depth int) bool {
	if n.minItems >= 0 && len(a) < n.minItems || n.maxItems >= 0 && len(a) > n.maxItems {
		return false
	}
	if n.unique && !allUnique(a) {
		return false
	}
	for i, e := range a {
		switch {
		case i < len(n.prefix):
			if !n.prefix[i].valid(e, depth+1) {
				return false
			}
		case n.items != nil:
			if !n.items.valid(e, depth+1) {
				return false
			}
		case n.arrCovered:
			return true
		default:
			if f, _ := check(e, depth+1, n.maxDepth); f != nil {
				return false
			}
		}
	}
	return true
}

func (n *node) validNumber(x any) bool {
	v := toNum(x)
	return n.validNum(&v)
}

func (n *node) validNum(v *num) bool {
	if n.min != nil && v.cmp(n.min) < 0 {
		return false
	}
	if n.exMin != nil && v.cmp(n.exMin) <= 0 {
		return false
	}
	if n.max != nil && v.cmp(n.max) > 0 {
		return false
	}
	if n.exMx != nil && v.cmp(n.exMx) >= 0 {
		return false
	}
	if n.mult != nil && !n.mult.divides(v) {
		return false
	}
	return true
}
