package compat

// Patterns as regular languages. A JSON Schema "pattern" is matched the way
// the validator matches it: Go's regexp (RE2 syntax, unanchored search, "^"
// and "$" at the ends of the string only, "." not matching "\n"), on runes.
// Each pattern becomes a Thompson NFA with a loop on every rune before and
// after it (the unanchored search); a breadth-first walk over the product of
// the subset constructions then decides containment (every string A's
// patterns accept, B's pattern accepts) and intersection (some string all
// patterns accept), and yields the shortest string that shows the answer.
// Patterns that use what RE2 and ECMA-262 read differently at the edges of a
// line or a word ((?m), \b, \B) are refused, so the answer is Unproven there.

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	maxNFAStates  = 4000
	maxAlphabet   = 2048
	maxProduct    = 20000
	maxRegexWork  = 1 << 20 // NFA steps of one search
	maxRegexBytes = 1000
)

var errRegexBudget = errors.New("the patterns are too large to compare")

// rstate is one NFA state: a rune transition to out when ranges is set, and
// epsilon edges; a state with assert is passable only at the start (or end)
// of the string.
type rstate struct {
	ranges []rune // pairs lo, hi
	char   bool
	out    int
	eps    []int
	assert syntax.EmptyOp
}

type rnfa struct {
	st           []rstate
	start, final int
}

// compilePattern builds the search NFA of pattern.
func compilePattern(pattern string) (*rnfa, error) {
	if len(pattern) > maxRegexBytes {
		return nil, fmt.Errorf("pattern %q is longer than %d bytes", pattern, maxRegexBytes)
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %v", pattern, err)
	}
	n := &rnfa{}
	in, out, err := n.build(re.Simplify(), 0)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", pattern, err)
	}
	all := []rune{0, unicode.MaxRune}
	n.start = n.add(rstate{ranges: all, char: true, eps: []int{in}})
	n.st[n.start].out = n.start
	n.final = n.add(rstate{ranges: all, char: true})
	n.st[n.final].out = n.final
	n.st[out].eps = append(n.st[out].eps, n.final)
	return n, nil
}

// universal is the NFA of a string side without a pattern: every string.
func universal() *rnfa {
	n := &rnfa{}
	n.final = n.add(rstate{ranges: []rune{0, unicode.MaxRune}, char: true})
	n.st[0].out = 0
	n.start = n.final
	return n
}

func (n *rnfa) add(s rstate) int {
	n.st = append(n.st, s)
	return len(n.st) - 1
}

func (n *rnfa) build(re *syntax.Regexp, depth int) (in, out int, err error) {
	if len(n.st) > maxNFAStates || depth > 200 {
		return 0, 0, errRegexBudget
	}
	char := func(ranges []rune) (int, int, error) {
		o := n.add(rstate{})
		i := n.add(rstate{ranges: ranges, char: true, out: o})
		return i, o, nil
	}
	switch re.Op {
	case syntax.OpNoMatch:
		return char(nil)
	case syntax.OpEmptyMatch:
		s := n.add(rstate{})
		return s, s, nil
	case syntax.OpBeginText, syntax.OpEndText:
		o := n.add(rstate{})
		op := syntax.EmptyBeginText
		if re.Op == syntax.OpEndText {
			op = syntax.EmptyEndText
		}
		return n.add(rstate{assert: op, eps: []int{o}}), o, nil
	case syntax.OpAnyCharNotNL:
		return char([]rune{0, '\n' - 1, '\n' + 1, unicode.MaxRune})
	case syntax.OpAnyChar:
		return char([]rune{0, unicode.MaxRune})
	case syntax.OpCharClass:
		return char(slices.Clone(re.Rune))
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			s := n.add(rstate{})
			return s, s, nil
		}
		subs := make([]*syntax.Regexp, len(re.Rune))
		for i, r := range re.Rune {
			ranges := []rune{r, r}
			if re.Flags&syntax.FoldCase != 0 {
				ranges = foldRanges(r)
			}
			subs[i] = &syntax.Regexp{Op: syntax.OpCharClass, Rune: ranges}
		}
		return n.build(&syntax.Regexp{Op: syntax.OpConcat, Sub: subs}, depth+1)
	case syntax.OpCapture:
		return n.build(re.Sub[0], depth+1)
	case syntax.OpConcat:
		if len(re.Sub) == 0 {
			s := n.add(rstate{})
			return s, s, nil
		}
		first, last := -1, -1
		for _, sub := range re.Sub {
			i, o, err := n.build(sub, depth+1)
			if err != nil {
				return 0, 0, err
			}
			if first < 0 {
				first = i
			} else {
				n.st[last].eps = append(n.st[last].eps, i)
			}
			last = o
		}
		return first, last, nil
	case syntax.OpAlternate:
		i, o := n.add(rstate{}), n.add(rstate{})
		for _, sub := range re.Sub {
			si, so, err := n.build(sub, depth+1)
			if err != nil {
				return 0, 0, err
			}
			n.st[i].eps = append(n.st[i].eps, si)
			n.st[so].eps = append(n.st[so].eps, o)
		}
		return i, o, nil
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		return n.repeat(re, depth)
	}
	return 0, 0, fmt.Errorf("%s is not supported (line and word boundaries differ between RE2 and ECMA-262)", opName(re))
}

// repeat builds x*, x+, x? and what Simplify leaves of x{n,m}.
func (n *rnfa) repeat(re *syntax.Regexp, depth int) (in, out int, err error) {
	if re.Op == syntax.OpRepeat {
		// Simplify leaves only x{0} and friends; expand what remains.
		if re.Max < 0 || re.Max > 100 {
			return 0, 0, errRegexBudget
		}
		var subs []*syntax.Regexp
		for k := 0; k < re.Min; k++ {
			subs = append(subs, re.Sub[0])
		}
		for k := re.Min; k < re.Max; k++ {
			subs = append(subs, &syntax.Regexp{Op: syntax.OpQuest, Sub: []*syntax.Regexp{re.Sub[0]}})
		}
		return n.build(&syntax.Regexp{Op: syntax.OpConcat, Sub: subs}, depth+1)
	}
	si, so, err := n.build(re.Sub[0], depth+1)
	if err != nil {
		return 0, 0, err
	}
	i, o := n.add(rstate{}), n.add(rstate{})
	n.st[i].eps = append(n.st[i].eps, si)
	if re.Op != syntax.OpPlus {
		n.st[i].eps = append(n.st[i].eps, o)
	}
	n.st[so].eps = append(n.st[so].eps, o)
	if re.Op != syntax.OpQuest {
		n.st[so].eps = append(n.st[so].eps, si)
	}
	return i, o, nil
}

func opName(re *syntax.Regexp) string {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpEndLine:
		return "multi-line ^ or $"
	case syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return `\b or \B`
	}
	return "operator " + strconv.Itoa(int(re.Op))
}

// foldRanges is the case-folding orbit of r as sorted, merged ranges.
func foldRanges(r rune) []rune {
	rs := []rune{r}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		rs = append(rs, f)
	}
	slices.Sort(rs)
	out := make([]rune, 0, 2*len(rs))
	for _, x := range rs {
		if len(out) > 0 && out[len(out)-1]+1 == x {
			out[len(out)-1] = x
			continue
		}
		out = append(out, x, x)
	}
	return out
}

// closure adds the states reachable by epsilon edges; begin and end say
// whether the position is the start or the end of the string.
func (n *rnfa) closure(set []int, begin, end bool) []int {
	seen := make(map[int]bool, len(set))
	stack := slices.Clone(set)
	for _, s := range set {
		seen[s] = true
	}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		st := n.st[s]
		if (st.assert == syntax.EmptyBeginText && !begin) || (st.assert == syntax.EmptyEndText && !end) {
			continue
		}
		for _, e := range st.eps {
			if !seen[e] {
				seen[e] = true
				stack = append(stack, e)
			}
		}
	}
	out := make([]int, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Ints(out)
	return out
}

func (n *rnfa) step(set []int, r rune) []int {
	var next []int
	for _, s := range set {
		st := n.st[s]
		if st.char && inRanges(st.ranges, r) && !slices.Contains(next, st.out) {
			next = append(next, st.out)
		}
	}
	if len(next) == 0 {
		return nil
	}
	return n.closure(next, false, false)
}

// accepts reports whether the string read so far matches; at the start of
// the string (the empty string) "^" holds as well as "$".
func (n *rnfa) accepts(set []int, atStart bool) bool {
	return slices.Contains(n.closure(set, atStart, true), n.final)
}

func inRanges(ranges []rune, r rune) bool {
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] <= r && r <= ranges[i+1] {
			return true
		}
	}
	return false
}

// alphabet splits the runes into classes that every NFA treats alike and
// returns one readable representative of each.
func alphabet(ns []*rnfa) ([]rune, error) {
	cuts := map[rune]bool{0: true}
	for _, n := range ns {
		for _, st := range n.st {
			for i := 0; i+1 < len(st.ranges); i += 2 {
				cuts[st.ranges[i]] = true
				cuts[st.ranges[i+1]+1] = true
			}
		}
	}
	pts := make([]rune, 0, len(cuts))
	for p := range cuts {
		if p <= unicode.MaxRune {
			pts = append(pts, p)
		}
	}
	slices.Sort(pts)
	if len(pts) > maxAlphabet {
		return nil, errRegexBudget
	}
	reps := make([]rune, 0, len(pts))
	for i, lo := range pts {
		hi := rune(unicode.MaxRune)
		if i+1 < len(pts) {
			hi = pts[i+1] - 1
		}
		if r, ok := readable(lo, hi); ok {
			reps = append(reps, r)
		}
	}
	// The search tries the readable ones first, so that of the shortest
	// strings it reports one a person reads easily.
	rank := func(r rune) int {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return 0
		case r < 0x80 && unicode.IsPrint(r):
			return 1
		case unicode.IsPrint(r):
			return 2
		}
		return 3
	}
	slices.SortStableFunc(reps, func(x, y rune) int { return rank(x) - rank(y) })
	return reps, nil
}

// readable picks a rune of [lo, hi] that shows well in a report; surrogates
// cannot be encoded and are skipped.
func readable(lo, hi rune) (rune, bool) {
	for _, r := range []rune{'a', 'x', 'A', '0', '-', ' ', '_', '.'} {
		if lo <= r && r <= hi {
			return r, true
		}
	}
	for r := lo; r <= hi && r < lo+64; r++ {
		if utf8.ValidRune(r) && unicode.IsPrint(r) {
			return r, true
		}
	}
	for r := lo; r <= hi && r < lo+0x900; r++ {
		if utf8.ValidRune(r) {
			return r, true
		}
	}
	return 0, false
}

// regSearch looks for a string of rune length within [minL, maxL] (maxL < 0:
// unbounded) that every NFA of accept accepts and reject (when not nil) does
// not. It returns the shortest such string, or found false when there is
// none; err reports a budget exceeded.
func regSearch(accept []*rnfa, reject *rnfa, minL, maxL int64) (w string, found bool, err error) {
	all := slices.Clone(accept)
	if reject != nil {
		all = append(all, reject)
	}
	reps, err := alphabet(all)
	if err != nil {
		return "", false, err
	}
	cnt := minL // the length counter saturates here when there is no maximum
	if maxL >= 0 {
		cnt = maxL
	}
	start := make([][]int, len(all))
	for i, n := range all {
		start[i] = n.closure([]int{n.start}, true, false)
	}
	work := 0
	nodes := []searchNode{{sets: start, parent: -1}}
	seen := map[string]bool{searchKey(start, 0, cnt): true}
	for i := 0; i < len(nodes); i++ {
		cur := nodes[i]
		if cur.length >= minL && (maxL < 0 || cur.length <= maxL) && wanted(all, cur.sets, reject != nil, cur.length == 0) {
			return wordOf(nodes, i), true, nil
		}
		if maxL >= 0 && cur.length >= maxL {
			continue
		}
		if reject != nil && slices.Contains(cur.sets[len(all)-1], reject.final) {
			continue // reject has matched: every extension matches too
		}
		for _, r := range reps {
			if work += len(all); work > maxRegexWork {
				return "", false, errRegexBudget
			}
			next := stepAll(all, cur.sets, r, len(accept))
			if next == nil {
				continue
			}
			k := searchKey(next, cur.length+1, cnt)
			if seen[k] {
				continue
			}
			if len(nodes) >= maxProduct {
				return "", false, errRegexBudget
			}
			seen[k] = true
			nodes = append(nodes, searchNode{sets: next, length: cur.length + 1, parent: i, r: r})
		}
	}
	return "", false, nil
}

// searchNode is a state of regSearch's walk: the state sets of every NFA after the word
// that leads to it, which is r appended to the word of the node at parent.
type searchNode struct {
	sets   [][]int
	length int64
	parent int
	r      rune
}

// searchKey names a state of regSearch's walk: the state sets of every NFA and the length,
// counted up to cnt only.
func searchKey(sets [][]int, l, cnt int64) string {
	var b strings.Builder
	for _, s := range sets {
		for _, x := range s {
			b.WriteString(strconv.Itoa(x))
			b.WriteByte(',')
		}
		b.WriteByte('|')
	}
	b.WriteString(strconv.FormatInt(min(l, cnt), 10))
	return b.String()
}

// stepAll steps every NFA of all from sets on r. It returns nil when one of the first
// accepting ones is left with no state: no extension of the word can be accepted.
func stepAll(all []*rnfa, sets [][]int, r rune, accepting int) [][]int {
	next := make([][]int, len(all))
	for k, n := range all {
		next[k] = n.step(sets[k], r)
		if next[k] == nil && k < accepting {
			return nil
		}
	}
	return next
}

// wordOf returns the word that leads to nodes[i].
func wordOf(nodes []searchNode, i int) string {
	var rs []rune
	for j := i; j > 0; j = nodes[j].parent {
		rs = append(rs, nodes[j].r)
	}
	slices.Reverse(rs)
	return string(rs)
}

// wanted: every accepting NFA accepts here and, with a reject NFA (the last
// one), it does not.
func wanted(all []*rnfa, sets [][]int, hasReject, atStart bool) bool {
	last := len(all)
	if hasReject {
		last--
	}
	for k := 0; k < last; k++ {
		if !all[k].accepts(sets[k], atStart) {
			return false
		}
	}
	return !hasReject || !all[last].accepts(sets[last], atStart)
}
