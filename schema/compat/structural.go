package compat

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/jesus-go/jesus/schema/internal/ref"
)

type strb struct {
	minL, maxL int64 // maxL < 0: unbounded
	patterns   map[string]bool
	formats    map[string]bool
}

func strInfo(ms []map[string]any) strb {
	s := strb{maxL: -1, patterns: map[string]bool{}, formats: map[string]bool{}}
	for _, m := range ms {
		if v, ok := toInt(m["minLength"]); ok && v > s.minL {
			s.minL = v
		}
		if v, ok := toInt(m["maxLength"]); ok && (s.maxL < 0 || v < s.maxL) {
			s.maxL = v
		}
		if p, ok := m["pattern"].(string); ok {
			s.patterns[p] = true
		}
		if f, ok := m["format"].(string); ok {
			s.formats[f] = true
		}
	}
	return s
}

// countb reads a min/max pair of counting keywords (minItems/maxItems, ...).
func countb(ms []map[string]any, minKw, maxKw string) (lo, hi int64) {
	hi = -1
	for _, m := range ms {
		if v, ok := toInt(m[minKw]); ok && v > lo {
			lo = v
		}
		if v, ok := toInt(m[maxKw]); ok && (hi < 0 || v < hi) {
			hi = v
		}
	}
	return lo, hi
}

// kindsOf returns the kinds A may have, dropping those A provably excludes.
func (c *checker) kindsOf(a aset) kinds {
	if a.empty {
		return 0
	}
	k := a.mask
	ms := a.maps()
	n := numInfo(ms)
	for _, m := range n.mults {
		if m.IsInt() {
			k &^= kFrac
		}
	}
	if below(n.hi, n.hiX, n.lo, n.loX) {
		k &^= kNum
	}
	if lo, hi := intRange(n); lo != nil && hi != nil && lo.Cmp(hi) > 0 {
		k &^= kInt
	}
	if s := strInfo(ms); s.maxL >= 0 && s.minL > s.maxL {
		k &^= kStr
	}
	if lo, hi := countb(ms, "minItems", "maxItems"); hi >= 0 && lo > hi {
		k &^= kArr
	}
	if lo, hi := countb(ms, "minProperties", "maxProperties"); hi >= 0 && lo > hi {
		k &^= kObj
	}
	if k != 0 && c.kdepth < 3 {
		c.kdepth++
		k = c.inhabited(a, ms, k)
		c.kdepth--
	}
	return k
}

// inhabited drops the kinds of k that A admits no value of for a reason
// below its own keywords: strings whose patterns, formats and lengths meet in
// no string, objects with a required property no value can fill, arrays
// whose required items no value can fill, and unions whose every branch is
// empty. The answers are kept per conjunction.
func (c *checker) inhabited(a aset, ms []map[string]any, k kinds) kinds {
	key := a.key()
	if len(a.disj) > 0 {
		key += "|" + a.disj[0].key
	}
	if c.kinds == nil {
		c.kinds = map[string]kinds{}
	}
	if v, ok := c.kinds[key]; ok {
		return k & v
	}
	c.steps++
	if k&kStr != 0 {
		s, implied := withFormats(strInfo(ms))
		if s.maxL >= 0 && s.minL > s.maxL {
			k &^= kStr
		} else if len(s.patterns) > 0 || len(implied) > 0 {
			if _, found, err := c.search(patternsOf(s, implied), "", s.minL, s.maxL); err == nil && !found {
				k &^= kStr
			}
		}
	}
	if k&kObj != 0 {
		for _, p := range sortedKeys(required(a)) {
			nodes, forb := propNodes(a, p)
			if forb || (len(nodes) > 0 && c.kindsOf(c.expand(nodes, nil, kAll)) == 0) {
				k &^= kObj
				break
			}
		}
	}
	if k&kArr != 0 {
		lo, _ := countb(ms, "minItems", "maxItems")
		for i := 0; int64(i) < lo && i < 8; i++ {
			nodes, forb := itemNodes(a, i)
			if forb || (len(nodes) > 0 && c.kindsOf(c.expand(nodes, nil, kAll)) == 0) {
				k &^= kArr
				break
			}
		}
	}
	if len(a.disj) > 0 && k != 0 {
		var any kinds
		for _, br := range a.disj[0].branches {
			any |= c.kindsOf(c.branch(a, br))
		}
		k &= any
	}
	c.kinds[key] = k
	return k
}

// hint is an extra boundary the witness generator should try.
type hint struct {
	num   *big.Rat
	n     int64  // a length or count
	name  string // a property name worth trying
	str   string // a string worth trying (with n = -1)
	isStr bool
}

// nameHints collects the strings in a keyword value: property names that an
// unmodelled keyword (dependentRequired, if, ...) talks about.
func nameHints(v any, out []hint) []hint {
	if len(out) > 32 {
		return out
	}
	switch t := v.(type) {
	case string:
		out = append(out, hint{name: t, n: -1})
	case []any:
		for _, e := range t {
			out = nameHints(e, out)
		}
	case map[string]any:
		for _, k := range sortedAnyKeys(t) {
			if !assertion[k] && !annotationKeyword[k] {
				out = append(out, hint{name: k, n: -1})
			}
			out = nameHints(t[k], out)
		}
	}
	return out
}

var annotationKeyword = map[string]bool{"title": true, "description": true, "$comment": true, "default": true, "examples": true}

func (c *checker) strings(a aset, b node, path string) res {
	as, aPats := withFormats(strInfo(a.maps()))
	bs := strInfo([]map[string]any{b.obj()})
	A, B, at := c.o.aName, c.o.bName, c.ptrName(path)
	hints := []hint{{n: bs.minL - 1}, {n: bs.maxL + 1}, {n: as.minL}, {n: as.maxL}}
	var rs []res
	// A's patterns bound lengths too: "^SKU-[0-9]{4}$" has no string longer
	// than 8. The automata say whether a string of A's patterns breaks B's
	// bound, and give one.
	lengthOK := func(lo, hi int64) (bool, []hint) {
		if len(as.patterns) == 0 && len(aPats) == 0 {
			return false, hints
		}
		w, found, err := c.search(patternsOf(as, aPats), "", lo, hi)
		if err != nil {
			return false, hints
		}
		return !found, append([]hint{{str: w, isStr: true, n: -1}}, hints...)
	}
	if bs.minL > as.minL {
		if ok, h := lengthOK(as.minL, min(bs.minL-1, maxOr(as.maxL, bs.minL-1))); !ok {
			rs = append(rs, c.definite(a, kStr, b, path, fmt.Sprintf("%s allows strings at %s shorter than %s's minLength %d", A, at, B, bs.minL), h))
		}
	}
	if bs.maxL >= 0 && (as.maxL < 0 || as.maxL > bs.maxL) {
		if ok, h := lengthOK(max(as.minL, bs.maxL+1), as.maxL); !ok {
			rs = append(rs, c.definite(a, kStr, b, path, fmt.Sprintf("%s allows strings at %s longer than %s's maxLength %d", A, at, B, bs.maxL), h))
		}
	}
	for _, p := range sortedKeys(bs.patterns) {
		if !as.patterns[p] {
			rs = append(rs, c.pattern(a, b, as, aPats, p, path, hints))
		}
	}
	for _, f := range sortedKeys(bs.formats) {
		if im := formatImplies[f]; im.exact && !as.formats[f] {
			// B's format is a regular language: compare it as a pattern.
			r := c.pattern(a, b, as, aPats, im.pattern, path, hints)
			if r.st == stBad && len(r.diffs) > 0 {
				r.diffs[0].Reason = strings.Replace(r.diffs[0].Reason, "pattern "+strconv.Quote(im.pattern), "format "+strconv.Quote(f), 1)
			}
			rs = append(rs, r)
			continue
		}
		if !as.formats[f] {
			rs = append(rs, c.maybe(a, kStr, b, path, fmt.Sprintf("cannot prove that the strings %s allows at %s are valid under %s's format %q", A, at, B, f), "format "+strconv.Quote(f), hints))
		}
	}
	return combine(rs...)
}

func child(path, tok string) string { return path + "/" + ref.EscapeToken(tok) }

func (c *checker) objects(a aset, b node, path string, depth int) res {
	bm := b.obj()
	A, B := c.o.aName, c.o.bName
	aReq := required(a)
	bReq := required(aset{nodes: []node{b}})
	names := map[string]bool{}
	for _, m := range a.maps() {
		if props, ok := m["properties"].(map[string]any); ok {
			for p := range props {
				names[p] = true
			}
		}
	}
	bProps, _ := bm["properties"].(map[string]any)
	for p := range bProps {
		names[p] = true
	}
	for p := range bReq {
		names[p] = true
	}
	bAdd := node{v: true}
	if _, ok := bm["additionalProperties"]; ok {
		bAdd = b.child("additionalProperties")
	}
	var rs []res
	for _, p := range sortedKeys(names) {
		at := child(path, p)
		aS, forb := propNodes(a, p)
		if bReq[p] && (forb || !aReq[p]) {
			verb := "can omit"
			if forb {
				verb = "never sends"
			}
			rs = append(rs, c.definite(a, kObj, b, at, fmt.Sprintf("%s %s %s, which %s requires", A, verb, at, B), nil))
		}
		if forb {
			continue
		}
		bS := bAdd
		if bProps[p] != nil {
			bS = b.child("properties", p)
		}
		if bS.isTrue() {
			continue
		}
		r := c.sub(c.expand(aS, nil, kAll), bS, at, depth+1)
		if r.st == stBad && r.hasWit {
			r.wit, r.hasWit = c.wrapObj(a, b, p, r.wit)
		}
		rs = append(rs, r)
	}
	// Properties neither side names: A's additionalProperties against B's.
	if !bAdd.isTrue() {
		rs = append(rs, c.additional(a, b, bAdd, names, path, depth))
	}
	aLo, aHi := countb(a.maps(), "minProperties", "maxProperties")
	bLo, bHi := countb([]map[string]any{bm}, "minProperties", "maxProperties")
	if int64(len(aReq)) > aLo {
		aLo = int64(len(aReq))
	}
	if bLo > aLo {
		rs = append(rs, c.definite(a, kObj, b, path, fmt.Sprintf("%s allows objects at %s with fewer than %d properties", A, c.ptrName(path), bLo), nil))
	}
	if bHi >= 0 && (aHi < 0 || aHi > bHi) {
		rs = append(rs, c.definite(a, kObj, b, path, fmt.Sprintf("%s allows objects at %s with more than %d properties", A, c.ptrName(path), bHi), nil))
	}
	if _, ok := bm["propertyNames"]; ok && !exempt(a.nodes, bm, "propertyNames") {
		rs = append(rs, c.propertyNames(a, b, path, depth))
	}
	if deps, ok := bm["dependentRequired"].(map[string]any); ok {
		rs = append(rs, c.dependentRequired(a, b, deps, path))
	}
	return combine(rs...)
}

// additional compares what A allows for properties neither side names with
// B's additionalProperties, at a fresh name standing for them.
func (c *checker) additional(a aset, b, bAdd node, names map[string]bool, path string, depth int) res {
	aAdd, forb := childNodes(a, additionalNode)
	if !forb {
		fresh := freshName(names)
		at := child(path, fresh)
		r := c.sub(c.expand(aAdd, nil, kAll), bAdd, at, depth+1)
		if r.st != stOK && len(r.diffs) > 0 {
			r.diffs[0].Reason += fmt.Sprintf(" (%s stands for any additional property)", at)
		}
		if r.st == stBad && r.hasWit {
			r.wit, r.hasWit = c.wrapObj(a, b, fresh, r.wit)
		}
		return r
	}
	return okRes()
}

func freshName(names map[string]bool) string {
	for i := 0; ; i++ {
		n := "extra"
		if i > 0 {
			n += strconv.Itoa(i)
		}
		if !names[n] {
			return n
		}
	}
}

// wrapObj places the property witness w under p in an instance of A.
func (c *checker) wrapObj(a aset, b node, p string, w any) (any, bool) {
	for _, base := range c.gen(a, kObj, 1, nil) {
		m, ok := base.(map[string]any)
		if !ok {
			continue
		}
		obj := make(map[string]any, len(m)+1)
		for k, v := range m {
			obj[k] = v
		}
		obj[p] = w
		if c.validA(a, obj) {
			if okB, err := c.validB(b, obj); err == nil && !okB {
				return obj, true
			}
		}
	}
	return nil, false
}

// itemNodes returns A's schemas for array position i (i ≥ the longest
// prefixItems stands for every later position) and whether A forbids it.
func itemNodes(a aset, i int) ([]node, bool) {
	return childNodes(a, func(n node, m map[string]any) (node, bool) {
		if pre, ok := m["prefixItems"].([]any); ok && i < len(pre) {
			return n.child("prefixItems", strconv.Itoa(i)), true
		}
		if _, ok := m["items"]; ok {
			return n.child("items"), true
		}
		return node{}, false
	})
}

func (c *checker) arrays(a aset, b node, path string, depth int) res {
	bm := b.obj()
	A, B, at := c.o.aName, c.o.bName, c.ptrName(path)
	aLo, aHi := countb(a.maps(), "minItems", "maxItems")
	bLo, bHi := countb([]map[string]any{bm}, "minItems", "maxItems")
	n := 0
	for _, m := range append(a.maps(), bm) {
		if pre, ok := m["prefixItems"].([]any); ok && len(pre) > n {
			n = len(pre)
		}
	}
	bPre, _ := bm["prefixItems"].([]any)
	var rs []res
	for i := 0; i <= n; i++ {
		if aHi >= 0 && int64(i) >= aHi {
			break
		}
		aS, forb := itemNodes(a, i)
		if forb {
			aHi = int64(i)
			break
		}
		var bS node
		switch {
		case i < len(bPre):
			bS = b.child("prefixItems", strconv.Itoa(i))
		case bm["items"] != nil:
			bS = b.child("items")
		default:
			continue
		}
		if bS.isTrue() {
			continue
		}
		r := c.sub(c.expand(aS, nil, kAll), bS, child(path, strconv.Itoa(i)), depth+1)
		if r.st == stBad && r.hasWit {
			r.wit, r.hasWit = c.wrapArr(a, b, i, r.wit)
		}
		rs = append(rs, r)
	}
	if bLo > aLo {
		rs = append(rs, c.definite(a, kArr, b, path, fmt.Sprintf("%s allows arrays at %s with fewer than %d items", A, at, bLo), nil))
	}
	if bHi >= 0 && (aHi < 0 || aHi > bHi) {
		rs = append(rs, c.definite(a, kArr, b, path, fmt.Sprintf("%s allows arrays at %s with more than %d items, %s's maxItems", A, at, bHi, B), []hint{{n: bHi + 1}}))
	}
	return combine(rs...)
}

// wrapArr places the item witness w at position i of an instance of A.
func (c *checker) wrapArr(a aset, b node, i int, w any) (any, bool) {
	for _, base := range c.gen(a, kArr, 1, []hint{{n: int64(i + 1)}}) {
		arr, ok := base.([]any)
		if !ok || len(arr) <= i {
			continue
		}
		arr = slices.Clone(arr)
		arr[i] = w
		if c.validA(a, arr) {
			if okB, err := c.validB(b, arr); err == nil && !okB {
				return arr, true
			}
		}
	}
	return nil, false
}

// maxOr is m, or d when m is unbounded (negative).
func maxOr(m, d int64) int64 {
	if m < 0 {
		return d
	}
	return m
}

// containsHolds proves B's contains (with its minContains, and no
// maxContains): A's arrays have at least minContains positions, below A's
// minItems, whose items all lie in B's contains schema.
func (c *checker) containsHolds(a aset, b node, path string, depth int) bool {
	bm := b.obj()
	if _, ok := bm["maxContains"]; ok {
		return false
	}
	need := int64(1)
	if v, ok := toInt(bm["minContains"]); ok {
		need = v
	}
	aLo, _ := countb(a.maps(), "minItems", "maxItems")
	x := b.child("contains")
	for i := 0; int64(i) < aLo && i < 16 && need > 0; i++ {
		nodes, forb := itemNodes(a, i)
		if forb {
			return false
		}
		if c.sub(c.expand(nodes, nil, kAll), x, child(path, strconv.Itoa(i)), depth+1).st == stOK {
			need--
		}
	}
	return need <= 0
}
