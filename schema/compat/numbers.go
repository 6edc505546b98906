package compat

import (
	"fmt"
	"math/big"
)

// numb is the numeric part of a conjunction: the tightest bounds and every
// multipleOf.
type numb struct {
	lo, hi   *big.Rat
	loX, hiX bool
	mults    []*big.Rat
}

func numInfo(ms []map[string]any) numb {
	var n numb
	lower := func(v any, excl bool) {
		r, ok := toRat(v)
		if !ok {
			return
		}
		if n.lo == nil || r.Cmp(n.lo) > 0 || (r.Cmp(n.lo) == 0 && excl) {
			n.lo, n.loX = r, excl
		}
	}
	upper := func(v any, excl bool) {
		r, ok := toRat(v)
		if !ok {
			return
		}
		if n.hi == nil || r.Cmp(n.hi) < 0 || (r.Cmp(n.hi) == 0 && excl) {
			n.hi, n.hiX = r, excl
		}
	}
	for _, m := range ms {
		lower(m["minimum"], false)
		lower(m["exclusiveMinimum"], true)
		upper(m["maximum"], false)
		upper(m["exclusiveMaximum"], true)
		if r, ok := toRat(m["multipleOf"]); ok && r.Sign() > 0 {
			n.mults = append(n.mults, r)
		}
	}
	return n
}

// below reports whether every number under the upper bound (hi, hiX) is below
// every number above the lower bound (lo, loX), i.e. the ranges do not meet.
func below(hi *big.Rat, hiX bool, lo *big.Rat, loX bool) bool {
	if hi == nil || lo == nil {
		return false
	}
	c := hi.Cmp(lo)
	return c < 0 || (c == 0 && (hiX || loX))
}

func ceilRat(r *big.Rat) *big.Int {
	q, m := new(big.Int).DivMod(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

func floorRat(r *big.Rat) *big.Int {
	q, _ := new(big.Int).DivMod(r.Num(), r.Denom(), new(big.Int))
	return q
}

// intRange is the inclusive integer range of n (nil: unbounded).
func intRange(n numb) (lo, hi *big.Int) {
	if n.lo != nil {
		lo = ceilRat(n.lo)
		if n.loX && n.lo.IsInt() {
			lo.Add(lo, big.NewInt(1))
		}
	}
	if n.hi != nil {
		hi = floorRat(n.hi)
		if n.hiX && n.hi.IsInt() {
			hi.Sub(hi, big.NewInt(1))
		}
	}
	return lo, hi
}

func isMultiple(x, m *big.Rat) bool {
	return new(big.Rat).Quo(x, m).IsInt()
}

func numHints(n numb) []hint {
	var h []hint
	for _, r := range []*big.Rat{n.lo, n.hi} {
		if r != nil {
			h = append(h, hint{num: r})
		}
	}
	for _, m := range n.mults {
		h = append(h, hint{num: m})
	}
	return h
}

func (c *checker) numbers(a aset, ks kinds, b node, path string) res {
	an, bn := numInfo(a.maps()), numInfo([]map[string]any{b.obj()})
	hints := append(numHints(an), numHints(bn)...)
	A, B, at := c.o.aName, c.o.bName, c.ptrName(path)
	var rs []res
	if ks&kInt != 0 {
		alo, ahi := intRange(an)
		blo, bhi := intRange(bn)
		if blo != nil && (alo == nil || alo.Cmp(blo) < 0) {
			rs = append(rs, c.definite(a, kInt, b, path, fmt.Sprintf("%s allows integers at %s %s", A, at, lowWord(B, bn)), hints))
		}
		if bhi != nil && (ahi == nil || ahi.Cmp(bhi) > 0) {
			rs = append(rs, c.definite(a, kInt, b, path, fmt.Sprintf("%s allows integers at %s %s", A, at, highWord(B, bn)), hints))
		}
		for _, m := range bn.mults {
			if !intMultOK(an, alo, ahi, m) {
				rs = append(rs, c.definite(a, kInt, b, path, fmt.Sprintf("%s allows integers at %s that are not multiples of %s", A, at, ratValue(m)), hints))
			}
		}
	}
	if ks&kFrac != 0 {
		if bn.lo != nil && (an.lo == nil || an.lo.Cmp(bn.lo) < 0 || (an.lo.Cmp(bn.lo) == 0 && !an.loX && bn.loX)) {
			rs = append(rs, c.definite(a, kFrac, b, path, fmt.Sprintf("%s allows numbers at %s %s", A, at, lowWord(B, bn)), hints))
		}
		if bn.hi != nil && (an.hi == nil || an.hi.Cmp(bn.hi) > 0 || (an.hi.Cmp(bn.hi) == 0 && !an.hiX && bn.hiX)) {
			rs = append(rs, c.definite(a, kFrac, b, path, fmt.Sprintf("%s allows numbers at %s %s", A, at, highWord(B, bn)), hints))
		}
		for _, m := range bn.mults {
			ok := false
			for _, am := range an.mults {
				if isMultiple(am, m) {
					ok = true
				}
			}
			if !ok {
				rs = append(rs, c.definite(a, kFrac, b, path, fmt.Sprintf("%s allows numbers at %s that are not multiples of %s", A, at, ratValue(m)), hints))
			}
		}
	}
	return combine(rs...)
}

// intMultOK reports whether every integer of A is a multiple of m.
func intMultOK(an numb, lo, hi *big.Int, m *big.Rat) bool {
	one := big.NewRat(1, 1)
	if isMultiple(one, m) {
		return true
	}
	for _, am := range an.mults {
		// The integer multiples of p/q (reduced) are the multiples of p.
		p := new(big.Rat).SetInt(am.Num())
		if isMultiple(p, m) {
			return true
		}
	}
	return lo != nil && hi != nil && lo.Cmp(hi) == 0 && isMultiple(new(big.Rat).SetInt(lo), m)
}

// lowWord says where B's lower bound cuts: "below B's minimum 1" or, for an
// exclusive bound, "at or below B's exclusiveMinimum 0".
func lowWord(B string, n numb) string {
	if n.loX {
		return fmt.Sprintf("at or below %s's exclusiveMinimum %s", B, ratValue(n.lo))
	}
	return fmt.Sprintf("below %s's minimum %s", B, ratValue(n.lo))
}

// highWord is lowWord for the upper bound.
func highWord(B string, n numb) string {
	if n.hiX {
		return fmt.Sprintf("at or above %s's exclusiveMaximum %s", B, ratValue(n.hi))
	}
	return fmt.Sprintf("above %s's maximum %s", B, ratValue(n.hi))
}
