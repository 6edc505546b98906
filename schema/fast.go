package schema

import (
	"regexp"

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

// valid reports whether x matches the schema of n, with the verdict of jsonschema/v5, and
// whether x is within precheck's bounds (depth, JSON numbers, Go types): a true result
// means precheck passes too. x is read into a tape and walked as an encoded message is,
// so there is one walker; a fallback node asks jsonschema/v5 itself.
func (n *node) valid(x any, depth int) bool {
	if n.fallback {
		f, _ := check(x, depth, n.maxDepth)
		return f == nil && n.js.Validate(x) == nil
	}
	t := getTape(nil)
	ok := t.readValue(x, depth, n.maxDepth) && n.validT(t, 0, depth)
	putTape(t)
	return ok
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
