package compat

import (
	"fmt"
	"math/big"
	"slices"
	"sort"
)

// anyOf: A ⊆ B1 ∨ … ∨ Bn holds if A fits one branch, or each kind of A fits
// some branch.
func (c *checker) anyOf(a aset, b node, branches []node, path string, depth int) res {
	fits := func(a aset) bool {
		for _, br := range branches {
			if c.sub(a, br, path, depth+1).st == stOK {
				return true
			}
		}
		return false
	}
	// A number range may be covered by several branches together, or leave
	// a gap between them.
	var gaps []hint
	covers := func(a aset) bool {
		if fits(a) {
			return true
		}
		if k := c.kindsOf(a); k != 0 && k&^kNum == 0 {
			ok, gap := c.numCovered(a, branches)
			if gap != nil {
				gaps = append(gaps, hint{num: gap})
			}
			return ok
		}
		return false
	}
	if covers(a) || c.perKind(a, covers) {
		return okRes()
	}
	hints := gaps
	for _, br := range branches {
		if m := br.obj(); m != nil {
			hints = append(hints, numHints(numInfo([]map[string]any{m}))...)
			s := strInfo([]map[string]any{m})
			hints = append(hints, hint{n: s.minL - 1}, hint{n: s.maxL + 1})
		}
	}
	return c.maybe(a, kAll, b, path,
		fmt.Sprintf("cannot prove that every value %s allows at %s matches one of %s's anyOf branches", c.o.aName, c.ptrName(path), c.o.bName),
		`"anyOf"`, hints)
}

// oneOf: A ⊆ exactly-one-of(B1…Bn) holds if A fits some Bi and is disjoint
// from every other branch (per kind of A if need be).
func (c *checker) oneOf(a aset, b node, branches []node, path string, depth int) res {
	fits := func(a aset) bool {
		for i, br := range branches {
			if c.sub(a, br, path, depth+1).st != stOK {
				continue
			}
			alone := true
			for j, other := range branches {
				if j != i && !c.disjoint(a, c.expand([]node{other}, nil, kAll), 0) {
					alone = false
					break
				}
			}
			if alone {
				return true
			}
		}
		return false
	}
	if fits(a) || c.perKind(a, fits) || c.splitCovered(a, branches) {
		return okRes()
	}
	// A value of A that two branches accept (or none): look in A ∧ branch.
	for _, br := range branches {
		both := c.expand(append(slices.Clone(a.nodes), br), a.used, a.mask)
		x := c.expand([]node{br}, nil, kAll)
		for _, v := range c.gen(both, kAll, 0, c.meetHints(a, x)) {
			if c.validA(a, v) {
				if ok, err := c.validB(b, v); err == nil && !ok {
					return c.refuted(v, path, `"oneOf"`)
				}
			}
		}
	}
	return c.maybe(a, kAll, b, path,
		fmt.Sprintf("cannot prove that every value %s allows at %s matches exactly one of %s's oneOf branches", c.o.aName, c.ptrName(path), c.o.bName),
		`"oneOf"`, nil)
}

// splitCovered: A's numbers are covered by number intervals among the
// branches, and no two branches share a value, so each number of A matches
// exactly one branch.
func (c *checker) splitCovered(a aset, branches []node) bool {
	if k := c.kindsOf(a); k == 0 || k&^kNum != 0 {
		return false
	}
	if ok, _ := c.numCovered(a, branches); !ok {
		return false
	}
	for i := range branches {
		for j := i + 1; j < len(branches); j++ {
			if !c.disjoint(c.expand(branches[i:i+1], nil, kAll), c.expand(branches[j:j+1], nil, kAll), 0) {
				return false
			}
		}
	}
	return true
}

// not: A ⊆ not X holds exactly when A and X are disjoint. When they are not
// proven disjoint, a value of both is looked for among the instances of the
// conjunction A ∧ X: B's "not" rejects it.
func (c *checker) not(a aset, b node, path string, depth int) res {
	neg := b.child("not")
	x := c.expand([]node{neg}, nil, kAll)
	if c.disjoint(a, x, 0) {
		return okRes()
	}
	both := c.expand(append(slices.Clone(a.nodes), neg), a.used, a.mask)
	hints := c.meetHints(a, x)
	for _, v := range c.gen(both, kAll, 0, hints) {
		if c.validA(a, v) {
			if ok, err := c.validB(b, v); err == nil && !ok {
				return c.refuted(v, path, `"not"`)
			}
		}
	}
	return c.maybe(a, kAll, b, path,
		fmt.Sprintf("cannot prove that the values %s allows at %s stay clear of what %s's \"not\" excludes", c.o.aName, c.ptrName(path), c.o.bName),
		`"not"`, hints)
}

// meetHints proposes values in both a and x: their numeric bounds, and a
// string both sides' patterns and lengths accept.
func (c *checker) meetHints(a, x aset) []hint {
	ms := append(a.maps(), x.maps()...)
	hints := numHints(numInfo(ms))
	s, implied := withFormats(strInfo(ms))
	if w, found, err := c.search(patternsOf(s, implied), "", s.minL, s.maxL); err == nil && found {
		hints = append(hints, hint{str: w, isStr: true, n: -1})
	}
	return hints
}

func (c *checker) perKind(a aset, f func(aset) bool) bool {
	ks := c.kindsOf(a).each()
	if len(ks) < 2 {
		return false
	}
	for _, k := range ks {
		if !f(a.withMask(k)) {
			return false
		}
	}
	return true
}

// disjoint reports whether no instance is valid under both a and x (both
// possibly widened, which keeps a true answer sound).
func (c *checker) disjoint(a, x aset, depth int) bool {
	if a.empty || x.empty {
		return true
	}
	c.steps++
	if depth > 8 || c.steps > c.o.maxSteps {
		return false
	}
	if vals, ok := c.finite(x); ok {
		for _, v := range vals {
			if c.validA(a, v) {
				return false
			}
		}
		return true
	}
	if vals, ok := c.finite(a); ok {
		for _, v := range vals {
			if c.validA(x, v) {
				return false
			}
		}
		return true
	}
	// A union is disjoint from x when every branch is.
	for _, s := range []struct{ u, other aset }{{a, x}, {x, a}} {
		if len(s.u.disj) > 0 {
			for _, br := range s.u.disj[0].branches {
				if !c.disjoint(c.branch(s.u, br), s.other, depth+1) {
					return false
				}
			}
			return true
		}
	}
	for _, k := range (c.kindsOf(a) & c.kindsOf(x)).each() {
		if !c.disjointKind(a, x, k, depth) {
			return false
		}
	}
	return true
}

// disjointKind reports whether a and x share no instance of kind k.
func (c *checker) disjointKind(a, x aset, k kinds, depth int) bool {
	ms := append(a.maps(), x.maps()...)
	switch k {
	case kInt:
		lo, hi := intRange(numInfo(ms))
		return lo != nil && hi != nil && lo.Cmp(hi) > 0
	case kFrac:
		n := numInfo(ms)
		return below(n.hi, n.hiX, n.lo, n.loX)
	case kStr:
		s, implied := withFormats(strInfo(ms))
		if s.maxL >= 0 && s.minL > s.maxL {
			return true
		}
		if len(s.patterns) == 0 && len(implied) == 0 {
			return false
		}
		_, found, err := c.search(patternsOf(s, implied), "", s.minL, s.maxL)
		return err == nil && !found
	case kArr:
		lo, hi := countb(ms, "minItems", "maxItems")
		if hi >= 0 && lo > hi {
			return true
		}
		if lo == 0 {
			return false
		}
		// Both have an item at 0: they are disjoint if those items are.
		aS, aForb := itemNodes(a, 0)
		xS, xForb := itemNodes(x, 0)
		return aForb || xForb || (len(aS) > 0 && len(xS) > 0 &&
			c.disjoint(c.expand(aS, nil, kAll), c.expand(xS, nil, kAll), depth+1))
	case kObj:
		return c.disjointObjects(a, x, depth)
	}
	return false
}

func (c *checker) disjointObjects(a, x aset, depth int) bool {
	lo, hi := countb(append(a.maps(), x.maps()...), "minProperties", "maxProperties")
	if hi >= 0 && lo > hi {
		return true
	}
	aReq, xReq := required(a), required(x)
	names := map[string]bool{}
	for p := range aReq {
		names[p] = true
	}
	for p := range xReq {
		names[p] = true
	}
	for _, p := range sortedKeys(names) {
		aS, aForb := propNodes(a, p)
		xS, xForb := propNodes(x, p)
		if (xReq[p] && aForb) || (aReq[p] && xForb) {
			return true
		}
		if !aForb && !xForb && len(aS) > 0 && len(xS) > 0 &&
			c.disjoint(c.expand(aS, nil, kAll), c.expand(xS, nil, kAll), depth+1) {
			return true
		}
	}
	return false
}

func required(a aset) map[string]bool {
	out := map[string]bool{}
	for _, m := range a.maps() {
		if arr, ok := m["required"].([]any); ok {
			for _, e := range arr {
				if s, ok := e.(string); ok {
					out[s] = true
				}
			}
		}
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// childNodes returns, from each of A's conjuncts for which pick names a child schema,
// that schema, and whether any of them is false (A forbids the place).
func childNodes(a aset, pick func(n node, m map[string]any) (node, bool)) ([]node, bool) {
	var out []node
	forb := false
	for _, n := range a.nodes {
		s, ok := pick(n, n.obj())
		if !ok {
			continue
		}
		if s.isFalse() {
			forb = true
		}
		out = append(out, s)
	}
	return out, forb
}

// propNodes returns A's schemas for property p and whether A forbids p.
// A conjunct with patternProperties is skipped for names it does not list,
// which widens A.
func propNodes(a aset, p string) ([]node, bool) {
	return childNodes(a, func(n node, m map[string]any) (node, bool) {
		if props, ok := m["properties"].(map[string]any); ok && props[p] != nil {
			return n.child("properties", p), true
		}
		return additionalNode(n, m)
	})
}

// additionalNode is a conjunct's schema for the properties it does not name, unless
// it has patternProperties (which the caller does not read: skipping widens A).
func additionalNode(n node, m map[string]any) (node, bool) {
	if _, ok := m["patternProperties"]; ok {
		return node{}, false
	}
	if _, ok := m["additionalProperties"]; ok {
		return n.child("additionalProperties"), true
	}
	return node{}, false
}

// numericOnly lists the keywords a branch may carry for numCovered to read
// it as a plain interval.
var numericOnly = map[string]bool{"type": true, "minimum": true, "maximum": true, "exclusiveMinimum": true, "exclusiveMaximum": true}

// numCovered decides whether A's numbers (all of one or both number kinds)
// lie in the union of the branches that are plain intervals. When they do
// not, gap is the least number of A's range that no interval covers.
func (c *checker) numCovered(a aset, branches []node) (ok bool, gap *big.Rat) {
	k := c.kindsOf(a)
	an := numInfo(a.maps())
	ivs, all := intervals(k, branches)
	if all {
		return true, nil
	}
	// Sweep from A's lower end: cur is the least number not yet covered
	// (curX: cur itself is covered, what is above it is not).
	cur, curX := an.lo, an.loX
	if k == kInt && cur != nil {
		lo, _ := intRange(an)
		cur, curX = new(big.Rat).SetInt(lo), false
	}
	for progress := true; progress; {
		progress = false
		for _, v := range ivs {
			if !startsBy(v.lo, v.loX, cur, curX) || !endsAfter(v.hi, v.hiX, cur, curX) {
				continue
			}
			if v.hi == nil {
				return true, nil
			}
			cur, curX, progress = v.hi, !v.hiX, true
			if k == kInt {
				cur, curX = new(big.Rat).Add(v.hi, big.NewRat(1, 1)), false
			}
		}
	}
	// cur is not covered; it matters only if A reaches it.
	if cur == nil {
		return false, nil
	}
	if an.hi != nil && (an.hi.Cmp(cur) < 0 || (an.hi.Cmp(cur) == 0 && (an.hiX || curX))) {
		return true, nil
	}
	if !curX {
		return false, cur
	}
	// Just above cur: halfway to the next interval start or A's end.
	next := new(big.Rat).Add(cur, big.NewRat(1, 1))
	for _, v := range ivs {
		if v.lo != nil && v.lo.Cmp(cur) > 0 && v.lo.Cmp(next) < 0 {
			next = v.lo
		}
	}
	if an.hi != nil && an.hi.Cmp(next) < 0 {
		next = an.hi
	}
	mid := new(big.Rat).Add(cur, next)
	return false, mid.Quo(mid, big.NewRat(2, 1))
}

type iv struct {
	lo, hi   *big.Rat
	loX, hiX bool
}

// intervals reads the branches that are plain number intervals taking
// every kind of k (for integers, as integer ranges); all is set when a
// branch is the schema true.
func intervals(k kinds, branches []node) (ivs []iv, all bool) {
	for _, br := range branches {
		if b, isBool := br.v.(bool); isBool && b {
			return nil, true
		}
		m := br.obj()
		if m == nil {
			continue
		}
		plain := true
		for kw := range m {
			if assertion[kw] && !numericOnly[kw] {
				plain = false
			}
		}
		if !plain || k&^typeKinds(m["type"]) != 0 {
			continue // the branch does not take every number kind of A
		}
		n := numInfo([]map[string]any{m})
		if k == kInt {
			lo, hi := intRange(n)
			var v iv
			if lo != nil {
				v.lo = new(big.Rat).SetInt(lo)
			}
			if hi != nil {
				v.hi = new(big.Rat).SetInt(hi)
			}
			ivs = append(ivs, v)
			continue
		}
		ivs = append(ivs, iv{n.lo, n.hi, n.loX, n.hiX})
	}
	return ivs, false
}

// startsBy: an interval starting at (lo, loX) contains the point just at or
// above (cur, curX) — cur itself when curX is false, numbers above it when true.
func startsBy(lo *big.Rat, loX bool, cur *big.Rat, curX bool) bool {
	if lo == nil {
		return true
	}
	if cur == nil {
		return false
	}
	switch c := lo.Cmp(cur); {
	case c < 0:
		return true
	case c == 0:
		return !loX || curX
	}
	return false
}

// endsAfter: the interval reaches beyond the point (cur, curX).
func endsAfter(hi *big.Rat, hiX bool, cur *big.Rat, curX bool) bool {
	if hi == nil || cur == nil {
		return true
	}
	switch c := hi.Cmp(cur); {
	case c > 0:
		return true
	case c == 0:
		return !hiX && !curX
	}
	return false
}

// ifThenElse: A ⊆ (if I then T else E). When every value of A meets I, A ⊆
// T decides; when none does (A and I disjoint), A ⊆ E; otherwise A ∧ I ⊆ T
// and A ⊆ E (A standing in for A without I) together prove it. Failing
// that, a value of A or of A ∧ I that B rejects is the witness.
func (c *checker) ifThenElse(a aset, b node, path string, depth int) res {
	bm := b.obj()
	cond := b.child("if")
	branch := func(a aset, kw string) res {
		if _, ok := bm[kw]; !ok {
			return okRes()
		}
		return c.sub(a, b.child(kw), path, depth+1)
	}
	if c.sub(a, cond, path, depth+1).st == stOK {
		return branch(a, "then")
	}
	x := c.expand([]node{cond}, nil, kAll)
	if c.disjoint(a, x, 0) {
		return branch(a, "else")
	}
	both := c.expand(append(slices.Clone(a.nodes), cond), a.used, a.mask)
	if branch(both, "then").st == stOK && branch(a, "else").st == stOK {
		return okRes()
	}
	rule := `"if"/"then"/"else"`
	for _, s := range []aset{both, a} {
		for _, v := range c.gen(s, kAll, 0, c.meetHints(a, x)) {
			if c.validA(a, v) {
				if ok, err := c.validB(b, v); err == nil && !ok {
					return c.refuted(v, path, rule)
				}
			}
		}
	}
	return unknown(fmt.Sprintf("cannot prove that the values %s allows at %s meet %s's %s", c.o.aName, c.ptrName(path), c.o.bName, rule))
}
