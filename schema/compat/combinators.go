package compat

import (
	"fmt"
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
	if fits(a) || c.perKind(a, fits) {
		return okRes()
	}
	return c.maybe(a, kAll, b, path,
		fmt.Sprintf("cannot prove that every value %s allows at %s matches one of %s's anyOf branches", c.o.aName, c.ptrName(path), c.o.bName),
		`"anyOf"`, nil)
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
	if fits(a) || c.perKind(a, fits) {
		return okRes()
	}
	return c.maybe(a, kAll, b, path,
		fmt.Sprintf("cannot prove that every value %s allows at %s matches exactly one of %s's oneOf branches", c.o.aName, c.ptrName(path), c.o.bName),
		`"oneOf"`, nil)
}

func (c *checker) not(a aset, b node, path string, depth int) res {
	neg := b.child("not")
	if c.disjoint(a, c.expand([]node{neg}, nil, kAll), 0) {
		return okRes()
	}
	return c.maybe(a, kAll, b, path,
		fmt.Sprintf("cannot prove that the values %s allows at %s stay clear of what %s's \"not\" excludes", c.o.aName, c.ptrName(path), c.o.bName),
		`"not"`, nil)
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
	if depth > 8 {
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
	common := c.kindsOf(a) & c.kindsOf(x)
	if common == 0 {
		return true
	}
	if common == kObj {
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
	}
	if common&^kNum == 0 {
		an, xn := numInfo(a.maps()), numInfo(x.maps())
		if below(an.hi, an.hiX, xn.lo, xn.loX) || below(xn.hi, xn.hiX, an.lo, an.loX) {
			return true
		}
	}
	if common == kStr {
		as, xs := strInfo(a.maps()), strInfo(x.maps())
		if (as.maxL >= 0 && xs.minL > as.maxL) || (xs.maxL >= 0 && as.minL > xs.maxL) {
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

// propNodes returns A's schemas for property p and whether A forbids p.
// A conjunct with patternProperties is skipped for names it does not list,
// which widens A.
func propNodes(a aset, p string) ([]node, bool) {
	var out []node
	forb := false
	for _, n := range a.nodes {
		m := n.obj()
		var s node
		if props, ok := m["properties"].(map[string]any); ok && props[p] != nil {
			s = n.child("properties", p)
		} else if _, ok := m["patternProperties"]; ok {
			continue
		} else if _, ok := m["additionalProperties"]; ok {
			s = n.child("additionalProperties")
		} else {
			continue
		}
		if s.isFalse() {
			forb = true
		}
		out = append(out, s)
	}
	return out, forb
}
