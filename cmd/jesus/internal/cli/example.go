package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"
)

// resolver follows local "$ref"s ("#/$defs/X") of a published descriptor, which is
// self-contained: the registry bundles every referenced file into it.
type resolver struct{ root map[string]any }

// Bounds of a generated example, so that a hostile schema cannot make it large.
const (
	maxExampleItems  = 100
	maxExampleString = 4096
	maxExampleNodes  = 10000
)

// maxRefDepth bounds how deep references are followed, so a recursive schema ends.
const maxRefDepth = 12

// ref returns the schema a "$ref" names, or nil.
func (r resolver) ref(ref string) any {
	p, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil
	}
	var cur any = r.root
	for _, tok := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if tok == "" {
			continue
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := cur.(type) {
		case map[string]any:
			cur = x[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			cur = x[i]
		default:
			return nil
		}
	}
	return cur
}

// inline returns s with every "$ref" replaced by what it names, for reading.
func (r resolver) inline(s any, depth int) any {
	switch x := s.(type) {
	case map[string]any:
		if ref, ok := x["$ref"].(string); ok && depth < maxRefDepth {
			if t := r.ref(ref); t != nil {
				out := map[string]any{}
				if tm, ok := r.inline(t, depth+1).(map[string]any); ok {
					for k, v := range tm {
						out[k] = v
					}
				}
				for k, v := range x {
					if k != "$ref" {
						out[k] = r.inline(v, depth+1)
					}
				}
				return out
			}
		}
		out := make(map[string]any, len(x))
		for k, v := range x {
			if k == "$defs" {
				continue
			}
			out[k] = r.inline(v, depth)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			out[i] = r.inline(v, depth)
		}
		return out
	}
	return s
}

// exampleOf generates one value that satisfies schema s (of the descriptor root): the
// required properties of objects, the fewest items of arrays, the first of enums and
// alternatives, numbers inside their bounds, strings of their format or pattern.
func exampleOf(root map[string]any, s any) (any, error) {
	if s == nil {
		return nil, errNoSchema
	}
	g := generator{r: resolver{root: root}}
	v := g.gen(s, 0)
	return v, g.err
}

type generator struct {
	r     resolver
	err   error
	nodes int // values made so far, bounded by maxExampleNodes
}

func (g *generator) gen(s any, depth int) any {
	if g.nodes++; g.nodes > maxExampleNodes {
		g.fail(fmt.Sprintf("the example would have more than %d values", maxExampleNodes))
		return nil
	}
	m, ok := s.(map[string]any)
	if !ok || depth > maxRefDepth {
		if b, isBool := s.(bool); isBool && !b {
			g.fail("a schema of false admits nothing")
		}
		return nil
	}
	if ref, ok := m["$ref"].(string); ok {
		t := g.r.ref(ref)
		if t == nil {
			g.fail("unresolved $ref " + ref)
			return nil
		}
		return g.gen(t, depth+1)
	}
	if c, ok := m["const"]; ok {
		return c
	}
	if e, ok := m["enum"].([]any); ok && len(e) > 0 {
		return e[0]
	}
	for _, k := range []string{"oneOf", "anyOf"} {
		if alts, ok := m[k].([]any); ok && len(alts) > 0 {
			return g.gen(alts[0], depth+1)
		}
	}
	if all, ok := m["allOf"].([]any); ok && len(all) > 0 {
		return g.gen(g.merge(m, all, depth), depth+1)
	}
	switch typeOf(m) {
	case "object":
		return g.object(m, depth)
	case "array":
		n := max(intOf(m["minItems"], 0), 1)
		if mx, ok := m["maxItems"]; ok {
			n = min(n, intOf(mx, n))
		}
		if n > maxExampleItems {
			g.fail(fmt.Sprintf("minItems %d is over the %d items an example shows", n, maxExampleItems))
			n = maxExampleItems
		}
		items := make([]any, n)
		for i := range items {
			items[i] = g.gen(m["items"], depth+1)
		}
		return items
	case "string":
		return g.str(m)
	case "integer":
		return g.number(m, true)
	case "number":
		return g.number(m, false)
	case "boolean":
		return true
	case "null":
		return nil
	}
	return map[string]any{}
}

func (g *generator) fail(msg string) {
	if g.err == nil {
		g.err = fmt.Errorf("cannot generate an example: %s", msg)
	}
}

// typeOf is the schema's type, the first of a list; "object" when it has properties.
func typeOf(m map[string]any) string {
	switch t := m["type"].(type) {
	case string:
		return t
	case []any:
		for _, x := range t {
			if s, ok := x.(string); ok && s != "null" {
				return s
			}
		}
	}
	if _, ok := m["properties"]; ok {
		return "object"
	}
	return ""
}

// merge folds allOf's schemas into one: properties and required united, the rest the
// first seen.
func (g *generator) merge(m map[string]any, all []any, depth int) map[string]any {
	out := map[string]any{}
	props := map[string]any{}
	var req []any
	parts := append([]any{m}, all...)
	for _, p := range parts {
		pm, ok := p.(map[string]any)
		for ok && depth < maxRefDepth {
			ref, isRef := pm["$ref"].(string)
			if !isRef {
				break
			}
			pm, ok = g.r.ref(ref).(map[string]any)
			depth++
		}
		if !ok {
			continue
		}
		for k, v := range pm {
			switch k {
			case "allOf":
			case "properties":
				if ps, ok := v.(map[string]any); ok {
					for pk, pv := range ps {
						props[pk] = pv
					}
				}
			case "required":
				if rs, ok := v.([]any); ok {
					req = append(req, rs...)
				}
			default:
				if _, seen := out[k]; !seen {
					out[k] = v
				}
			}
		}
	}
	if len(props) > 0 {
		out["properties"] = props
	}
	if len(req) > 0 {
		out["required"] = req
	}
	return out
}

func (g *generator) object(m map[string]any, depth int) any {
	props, _ := m["properties"].(map[string]any)
	out := map[string]any{}
	req, _ := m["required"].([]any)
	names := make([]string, 0, len(req))
	for _, r := range req {
		if s, ok := r.(string); ok {
			names = append(names, s)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		ps, ok := props[n]
		if !ok {
			ps = map[string]any{}
		}
		out[n] = g.gen(ps, depth+1)
	}
	return out
}

var formats = map[string]string{
	"email": "user@example.com", "date-time": "2026-01-02T15:04:05Z", "date": "2026-01-02", "time": "15:04:05Z",
	"uuid": "123e4567-e89b-42d3-a456-426614174000", "uri": "https://example.com/", "hostname": "example.com",
	"ipv4": "192.0.2.1", "ipv6": "2001:db8::1", "duration": "PT1M",
}

func (g *generator) str(m map[string]any) any {
	if f, ok := m["format"].(string); ok {
		if v, ok := formats[f]; ok {
			return v
		}
	}
	s := "example"
	if p, ok := m["pattern"].(string); ok {
		if v, ok := fromPattern(p); ok {
			s = v
		} else {
			g.fail(fmt.Sprintf("no string found for pattern %q", p))
		}
	}
	if n := intOf(m["minLength"], 0); n > maxExampleString {
		g.fail(fmt.Sprintf("minLength %d is over the %d characters an example shows", n, maxExampleString))
	} else if len([]rune(s)) < n {
		s += strings.Repeat("x", n-len([]rune(s)))
	}
	if n, ok := m["maxLength"]; ok && len([]rune(s)) > intOf(n, 0) {
		s = string([]rune(s)[:intOf(n, 0)])
	}
	return s
}

// fromPattern builds the shortest string the regular expression p matches, from its
// syntax tree, and checks it. JSON Schema patterns are ECMA 262; the ones descriptors
// use are also RE2.
func fromPattern(p string) (string, bool) {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	build(&b, re.Simplify())
	out := b.String()
	if len(out) > maxExampleString {
		return "", false
	}
	ok, err := regexp.MatchString(p, out)
	return out, err == nil && ok
}

func build(b *strings.Builder, re *syntax.Regexp) {
	switch re.Op {
	case syntax.OpLiteral:
		b.WriteString(string(re.Rune))
	case syntax.OpCharClass:
		if len(re.Rune) > 0 {
			lo := re.Rune[0]
			// Prefer a letter or digit inside the first range, for readability.
			for _, c := range "aA0" {
				if c >= re.Rune[0] && c <= re.Rune[1] {
					lo = c
					break
				}
			}
			b.WriteRune(lo)
		}
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('x')
	case syntax.OpCapture:
		build(b, re.Sub[0])
	case syntax.OpConcat:
		for _, s := range re.Sub {
			build(b, s)
		}
	case syntax.OpAlternate:
		build(b, re.Sub[0])
	case syntax.OpPlus:
		build(b, re.Sub[0])
	case syntax.OpRepeat:
		for i := 0; i < re.Min; i++ {
			build(b, re.Sub[0])
		}
	}
	// Star, Quest, empty and anchors add nothing.
}

func intOf(v any, def int) int {
	if f, ok := v.(float64); ok && f >= 0 && f <= math.MaxInt32 {
		return int(f)
	}
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil && i >= 0 && i <= math.MaxInt32 {
			return int(i)
		}
	}
	return def
}

func floatOf(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// number picks 1 when the bounds allow it, else the lowest value they allow, on the
// multipleOf grid.
func (g *generator) number(m map[string]any, integer bool) any {
	lo, hi := math.Inf(-1), math.Inf(1)
	if v, ok := floatOf(m["minimum"]); ok {
		lo = v
	}
	if v, ok := floatOf(m["maximum"]); ok {
		hi = v
	}
	step := 1.0
	if v, ok := floatOf(m["multipleOf"]); ok && v > 0 {
		step = v
	} else if !integer {
		step = 0.5
	}
	if v, ok := floatOf(m["exclusiveMinimum"]); ok {
		lo = math.Max(lo, v+step)
	}
	if v, ok := floatOf(m["exclusiveMaximum"]); ok {
		hi = math.Min(hi, v-step)
	}
	x := 1.0
	if x < lo || x > hi {
		x = math.Ceil(lo/step) * step
	}
	if x > hi {
		g.fail(fmt.Sprintf("no number in [%v, %v]", lo, hi))
	}
	if integer {
		return int64(math.Ceil(x))
	}
	return x
}
