package schema

import (
	"regexp"
	"regexp/syntax"
)

// Most patterns in service schemas are anchored runs of ASCII character classes, such as
// ^[A-Z]{3}-[0-9]{4,8}$. simplePattern matches those without the regexp engine; it is
// built only where greedy matching is exact, so its verdict is the regexp's.

type patItem struct {
	set      [2]uint64 // ASCII bytes in the class
	min, max int       // max < 0: unbounded
}

type simplePattern []patItem

// compileSimple returns the simple matcher of re, or nil when re is not one: the whole
// text anchored (^...$), made of literals and ASCII classes, each repeated at least once,
// and each class disjoint from the next (so every run is maximal and greedy is exact).
func compileSimple(re *regexp.Regexp) simplePattern {
	if re == nil {
		return nil
	}
	t, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil || t.Op != syntax.OpConcat || len(t.Sub) < 2 {
		return nil
	}
	subs := t.Sub
	if subs[0].Op != syntax.OpBeginText || subs[len(subs)-1].Op != syntax.OpEndText {
		return nil
	}
	var items simplePattern
	for _, s := range subs[1 : len(subs)-1] {
		min, max := 1, 1
		switch s.Op {
		case syntax.OpRepeat:
			min, max = s.Min, s.Max
			s = s.Sub[0]
		case syntax.OpPlus:
			min, max = 1, -1
			s = s.Sub[0]
		}
		if min < 1 || max >= 0 && max < min || s.Flags&syntax.FoldCase != 0 {
			return nil
		}
		switch s.Op {
		case syntax.OpLiteral:
			if len(s.Rune) != 1 && (min != 1 || max != 1) {
				return nil
			}
			for _, r := range s.Rune {
				if r >= 0x80 {
					return nil
				}
				var it patItem
				it.set[r>>6] |= 1 << (r & 63)
				it.min, it.max = min, max
				items = append(items, it)
			}
		case syntax.OpCharClass:
			var it patItem
			for i := 0; i+1 < len(s.Rune); i += 2 {
				lo, hi := s.Rune[i], s.Rune[i+1]
				if hi >= 0x80 {
					return nil
				}
				for r := lo; r <= hi; r++ {
					it.set[r>>6] |= 1 << (r & 63)
				}
			}
			it.min, it.max = min, max
			items = append(items, it)
		default:
			return nil
		}
	}
	if len(items) == 0 {
		return nil
	}
	for i := 1; i < len(items); i++ {
		if items[i-1].set[0]&items[i].set[0] != 0 || items[i-1].set[1]&items[i].set[1] != 0 {
			return nil
		}
	}
	return items
}

func (it *patItem) has(c byte) bool {
	return c < 0x80 && it.set[c>>6]&(1<<(c&63)) != 0
}

func (p simplePattern) match(b []byte) bool {
	pos := 0
	for i := range p {
		it := &p[i]
		n := 0
		for pos < len(b) && (it.max < 0 || n < it.max) && it.has(b[pos]) {
			pos++
			n++
		}
		if n < it.min {
			return false
		}
	}
	return pos == len(b)
}
