package schema

import "github.com/santhosh-tekuri/jsonschema/v5"

// Building the fast path: a tree of nodes compiled once from jsonschema/v5's schemas.

// typeBits are the type bits of the JSON Schema type names.
var typeBits = map[string]uint8{"null": tNull, "boolean": tBool, "number": tNumber, "integer": tInteger, "string": tString, "array": tArray, "object": tObject}

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
	nodes := make([]*node, 0, len(memo))
	for _, m := range memo {
		m.setWalkFlags()
		nodes = append(nodes, m)
	}
	markStreamable(nodes)
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
		n.types |= typeBits[t]
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

	buildObject(n, s, memo)
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

	buildInPlace(n, s, memo)
	return n
}

// buildObject fills the object keywords of n.
func buildObject(n *node, s *jsonschema.Schema, memo map[*jsonschema.Schema]*node) {
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
}

// buildInPlace fills the in-place applicators of n.
func buildInPlace(n *node, s *jsonschema.Schema, memo map[*jsonschema.Schema]*node) {
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
}
