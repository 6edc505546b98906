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

// compileFast builds the fast tree of a compiled schema. Instances nested deeper than
// maxDepth are refused, as precheck does.
func compileFast(root *jsonschema.Schema, maxDepth int) *node {
	if needsWholeFallback(root) {
		return &node{js: root, fallback: true, maxDepth: maxDepth}
	}
	memo := map[*jsonschema.Schema]*node{}
	n := build(root, memo)
	done := map[*node]bool{}
	for _, m := range memo {
		m.maxDepth = maxDepth
		cover(m, done)
	}
	for _, m := range memo {
		m.setWalkFlags()
	}
	return n
}

// cover sets the coverage flags of n and of the always-evaluated in-place nodes it uses.
// In-place cycles were refused at load; done also guards against them.
func cover(n *node, done map[*node]bool) {
	if n == nil || done[n] {
		return
	}
	done[n] = true
	n.objCovered = n.addl != 0
	n.arrCovered = n.items != nil
	for _, c := range append([]*node{n.ref}, n.allOf...) {
		if c == nil {
			continue
		}
		cover(c, done)
		if c.fallback {
			// jsonschema visits what it wants; the fallback node checks its whole value.
			n.objCovered, n.arrCovered = true, true
		}
		n.objCovered = n.objCovered || c.objCovered
		n.arrCovered = n.arrCovered || c.arrCovered
	}
}

// needsWholeFallback reports whether any schema reachable from root resolves references
// dynamically or follows another draft.
func needsWholeFallback(root *jsonschema.Schema) bool {
	for s := range reachable(root) {
		if s.RecursiveRef != nil || s.DynamicRef != nil || s.Draft != jsonschema.Draft2020 {
			return true
		}
	}
	return false
}

// reachable is every schema reachable from root through its subschemas.
func reachable(root *jsonschema.Schema) map[*jsonschema.Schema]bool {
	all := map[*jsonschema.Schema]bool{}
	stack := []*jsonschema.Schema{root}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if s == nil || all[s] {
			continue
		}
		all[s] = true
		stack = append(stack, children(s)...)
	}
	return all
}

// children lists every subschema of s; inplace lists those applied to the same instance.
func children(s *jsonschema.Schema) []*jsonschema.Schema {
	out := inplace(s)
	for _, c := range s.Properties {
		out = append(out, c)
	}
	for _, c := range s.PatternProperties {
		out = append(out, c)
	}
	if c, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
		out = append(out, c)
	}
	if c, ok := s.AdditionalItems.(*jsonschema.Schema); ok {
		out = append(out, c)
	}
	switch it := s.Items.(type) {
	case *jsonschema.Schema:
		out = append(out, it)
	case []*jsonschema.Schema:
		out = append(out, it...)
	}
	out = append(out, s.PrefixItems...)
	out = append(out, s.Items2020, s.Contains, s.PropertyNames, s.UnevaluatedProperties, s.UnevaluatedItems, s.ContentSchema)
	return out
}

func inplace(s *jsonschema.Schema) []*jsonschema.Schema {
	out := []*jsonschema.Schema{s.Ref, s.RecursiveRef, s.DynamicRef, s.Not, s.If, s.Then, s.Else}
	out = append(out, s.AllOf...)
	out = append(out, s.AnyOf...)
	out = append(out, s.OneOf...)
	for _, c := range s.DependentSchemas {
		out = append(out, c)
	}
	for _, c := range s.Dependencies {
		if c, ok := c.(*jsonschema.Schema); ok {
			out = append(out, c)
		}
	}
	return out
}

// inplaceCycle finds a chain of in-place applicators ($ref, allOf, anyOf, oneOf, not,
// if/then/else, dependentSchemas) from a schema back to itself: validating it would never
// consume any of the instance. It returns the chain or "".
func inplaceCycle(root *jsonschema.Schema) string {
	all := reachable(root)
	const (
		white = iota
		grey
		black
	)
	color := map[*jsonschema.Schema]int{}
	var path []*jsonschema.Schema
	var found string
	var visit func(s *jsonschema.Schema) bool
	visit = func(s *jsonschema.Schema) bool {
		color[s] = grey
		path = append(path, s)
		for _, c := range inplace(s) {
			if c == nil {
				continue
			}
			switch color[c] {
			case grey:
				i := len(path) - 1
				for path[i] != c {
					i--
				}
				chain := ""
				for _, p := range path[i:] {
					chain += shortLoc(p.Location) + " -> "
				}
				found = chain + shortLoc(c.Location)
				return true
			case white:
				if visit(c) {
					return true
				}
			}
		}
		path = path[:len(path)-1]
		color[s] = black
		return false
	}
	for s := range all {
		if color[s] == white && visit(s) {
			return found
		}
	}
	return ""
}

func shortLoc(l string) string {
	if len(l) > len(baseURL) && l[:len(baseURL)] == baseURL {
		return l[len(baseURL):]
	}
	return l
}

// unsupported reports whether s uses a keyword the fast path does not implement.
func unsupported(s *jsonschema.Schema) bool {
	return s.PropertyNames != nil || s.RegexProperties || len(s.Dependencies) > 0 ||
		len(s.DependentSchemas) > 0 || s.UnevaluatedProperties != nil || s.UnevaluatedItems != nil ||
		s.Contains != nil || s.Items != nil || s.AdditionalItems != nil || len(s.Extensions) > 0 ||
		s.RecursiveRef != nil || s.DynamicRef != nil || s.ContentSchema != nil
}

func build(s *jsonschema.Schema, memo map[*jsonschema.Schema]*node) *node {
	if s == nil {
		return nil
	}
	if n, ok := memo[s]; ok {
		return n
	}
	n := &node{js: s}
	memo[s] = n
	if s.Always != nil {
		n.always = -1
		if *s.Always {
			n.always = 1
		}
		return n
	}
	if unsupported(s) {
		n.fallback = true
		return n
	}
	for _, t := range s.Types {
		switch t {
		case "null":
			n.types |= tNull
		case "boolean":
			n.types |= tBool
		case "number":
			n.types |= tNumber
		case "integer":
			n.types |= tInteger
		case "string":
			n.types |= tString
		case "array":
			n.types |= tArray
		case "object":
			n.types |= tObject
		}
	}
	if len(s.Constant) > 0 {
		n.consts = []lit{newLit(s.Constant[0])}
	}
	for _, e := range s.Enum {
		n.enum = append(n.enum, newLit(e))
	}
	if s.Format != "" {
		// The compiler asserts formats with jsonschema.Formats (AssertFormat, no own formats);
		// an unknown format is not checked there either.
		n.format = jsonschema.Formats[s.Format]
		if n.format != nil {
			n.fastFormat = fastFormats[s.Format]
		}
	}

	n.minProps, n.maxProps = s.MinProperties, s.MaxProperties
	n.required = s.Required
	n.propSet = make(map[string]struct{}, len(s.Properties))
	for _, name := range sortedKeys(s.Properties) {
		n.props = append(n.props, propNode{name, build(s.Properties[name], memo)})
		n.propSet[name] = struct{}{}
	}
	n.propIdx = make(map[string]int, len(n.props))
	for i, p := range n.props {
		n.propIdx[p.name] = i
	}
	for _, r := range n.required {
		i, ok := n.propIdx[r]
		if !ok {
			i = -1
		}
		n.reqIdx = append(n.reqIdx, i)
	}
	for re, c := range s.PatternProperties {
		n.patternProps = append(n.patternProps, patNode{re, compileSimple(re), build(c, memo)})
	}
	switch a := s.AdditionalProperties.(type) {
	case bool:
		if !a {
			n.addl = 1
		}
	case *jsonschema.Schema:
		n.addl = 2
		n.addlNode = build(a, memo)
	}
	n.depRequired = s.DependentRequired

	n.minItems, n.maxItems, n.unique = s.MinItems, s.MaxItems, s.UniqueItems
	for _, c := range s.PrefixItems {
		n.prefix = append(n.prefix, build(c, memo))
	}
	n.items = build(s.Items2020, memo)

	n.minLen, n.maxLen, n.pattern = s.MinLength, s.MaxLength, s.Pattern
	n.simple = compileSimple(s.Pattern)

	n.min, n.exMin, n.max, n.exMx = newBound(s.Minimum), newBound(s.ExclusiveMinimum), newBound(s.Maximum), newBound(s.ExclusiveMaximum)
	if s.MultipleOf != nil {
		n.mult = newMultiple(s.MultipleOf)
	}
	n.hasNum = n.min != nil || n.exMin != nil || n.max != nil || n.exMx != nil || n.mult != nil

	n.ref = build(s.Ref, memo)
	n.not = build(s.Not, memo)
	for _, c := range s.AllOf {
		n.allOf = append(n.allOf, build(c, memo))
	}
	for _, c := range s.AnyOf {
		n.anyOf = append(n.anyOf, build(c, memo))
	}
	for _, c := range s.OneOf {
		n.oneOf = append(n.oneOf, build(c, memo))
	}
	n.ifN, n.thenN, n.elseN = build(s.If, memo), build(s.Then, memo), build(s.Else, memo)
	return n
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
