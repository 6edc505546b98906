package compat

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// closedNames returns the property names A allows when one of its
// conjuncts lists them all (additionalProperties false, no patternProperties).
func closedNames(a aset) ([]string, bool) {
	for _, m := range a.maps() {
		if _, ok := m["patternProperties"]; ok {
			continue
		}
		if ap, ok := m["additionalProperties"].(bool); ok && !ap {
			props, _ := m["properties"].(map[string]any)
			return sortedAnyKeys(props), true
		}
	}
	return nil, false
}

// propertyNames: every name A allows must be valid under B's propertyNames.
// A closed A lists its names, each validated; an open A allows every string
// its own propertyNames allow, compared as strings.
func (c *checker) propertyNames(a aset, b node, path string, depth int) res {
	pn := b.child("propertyNames")
	rule := strconv.Quote("propertyNames")
	if names, ok := closedNames(a); ok {
		for _, n := range names {
			if _, forb := propNodes(a, n); forb {
				continue
			}
			valid, err := c.validB(pn, n)
			if err != nil {
				return unknown(fmt.Sprintf("%s's propertyNames at %s cannot be validated: %v", c.o.bName, c.ptrName(path), err))
			}
			if !valid {
				return c.nameWitness(a, b, n, path, rule)
			}
		}
		return okRes()
	}
	var own []node
	for _, n := range a.nodes {
		if _, ok := n.obj()["propertyNames"]; ok {
			own = append(own, n.child("propertyNames"))
		}
	}
	r := c.sub(c.expand(own, nil, kStr), pn, path, depth+1)
	switch {
	case r.st == stOK:
		return r
	case r.st == stBad && r.hasWit:
		if name, ok := r.wit.(string); ok {
			return c.nameWitness(a, b, name, path, rule)
		}
	}
	return unknown(fmt.Sprintf("cannot prove that every property name %s allows at %s is valid under %s's propertyNames", c.o.aName, c.ptrName(path), c.o.bName))
}

// nameWitness builds an object of A with a property called name that B
// rejects.
func (c *checker) nameWitness(a aset, b node, name, path, rule string) res {
	for _, base := range c.gen(a, kObj, 1, []hint{{name: name, n: -1}}) {
		m, ok := base.(map[string]any)
		if !ok {
			continue
		}
		for _, v := range []any{m[name], nil, "x", json.Number("1"), true, map[string]any{}} {
			obj := make(map[string]any, len(m)+1)
			for k, e := range m {
				obj[k] = e
			}
			obj[name] = v
			if c.validA(a, obj) {
				if okB, err := c.validB(b, obj); err == nil && !okB {
					r := res{st: stBad, wit: obj, hasWit: true, diffs: []Difference{{Pointer: path, confirmed: true,
						Reason: fmt.Sprintf("%s allows a property named %s at %s, which %s's %s rejects", c.o.aName, render(name), c.ptrName(path), c.o.bName, rule)}}}
					return r
				}
			}
		}
	}
	return unknown(fmt.Sprintf("%s's property name %s at %s is not valid under %s's propertyNames, but no value of %s with it was found",
		c.o.aName, render(name), c.ptrName(path), c.o.bName, c.o.aName))
}

// dependentRequired: when A's object has p, it must have every q B lists for
// p; A guarantees it by requiring q, by never sending p, or by the same
// dependency of its own.
func (c *checker) dependentRequired(a aset, b node, deps map[string]any, path string) res {
	aReq := required(a)
	var rs []res
	for _, p := range sortedAnyKeys(deps) {
		qs, _ := deps[p].([]any)
		if _, forb := propNodes(a, p); forb || aReq[p] && allRequired(aReq, qs) {
			continue
		}
		for _, qv := range qs {
			q, _ := qv.(string)
			if aReq[q] || ownDependency(a, p, q) {
				continue
			}
			rs = append(rs, c.definite(a, kObj, b, path,
				fmt.Sprintf("%s allows objects at %s with %s but without %s, which %s's dependentRequired requires", c.o.aName, c.ptrName(path), child(path, p), child(path, q), c.o.bName),
				[]hint{{name: p, n: -1}}))
		}
	}
	return combine(rs...)
}

func allRequired(req map[string]bool, qs []any) bool {
	for _, q := range qs {
		if s, _ := q.(string); !req[s] {
			return false
		}
	}
	return true
}

// ownDependency reports whether one of A's conjuncts has "p requires q".
func ownDependency(a aset, p, q string) bool {
	for _, m := range a.maps() {
		deps, _ := m["dependentRequired"].(map[string]any)
		qs, _ := deps[p].([]any)
		for _, e := range qs {
			if e == q {
				return true
			}
		}
	}
	return false
}
