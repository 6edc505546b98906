package compat

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// randomPattern draws a pattern over a small alphabet that exercises anchors,
// ".", classes, alternation and repetition.
func randomPattern(rng *rand.Rand, depth int) string {
	atoms := []string{"a", "b", `\n`, ".", "[ab]", "[^a]", "x", `\d`, "(?i)A", "[a-b]"}
	if depth > 2 {
		return atoms[rng.IntN(len(atoms))]
	}
	switch rng.IntN(8) {
	case 0:
		return randomPattern(rng, depth+1) + randomPattern(rng, depth+1)
	case 1:
		return "(" + randomPattern(rng, depth+1) + "|" + randomPattern(rng, depth+1) + ")"
	case 2:
		return "(" + randomPattern(rng, depth+1) + ")" + []string{"*", "+", "?", "{1,2}", "{2}"}[rng.IntN(5)]
	case 3:
		return "^" + randomPattern(rng, depth+1)
	case 4:
		return randomPattern(rng, depth+1) + "$"
	case 5:
		return "^" + randomPattern(rng, depth+1) + "$"
	}
	return atoms[rng.IntN(len(atoms))]
}

// allStrings lists every string over alphabet up to n runes.
func allStrings(alphabet []string, n int) []string {
	out := []string{""}
	level := []string{""}
	for i := 0; i < n; i++ {
		var next []string
		for _, s := range level {
			for _, a := range alphabet {
				next = append(next, s+a)
			}
		}
		out = append(out, next...)
		level = next
	}
	return out
}

var probeStrings = allStrings([]string{"a", "b", "\n", "x", "A", "1"}, 4)

// agree checks regSearch against Go's regexp on p ⊆ q and p ∩ q: a witness
// must be one, and "none" must survive every short string.
func agree(t *testing.T, p, q string, minL, maxL int64) {
	t.Helper()
	rp, err1 := regexp.Compile(p)
	rq, err2 := regexp.Compile(q)
	np, err3 := compilePattern(p)
	nq, err4 := compilePattern(q)
	if err1 != nil || err2 != nil {
		return
	}
	if err3 != nil || err4 != nil {
		return // refused: the checker says "cannot prove"
	}
	inLen := func(s string) bool {
		n := int64(utf8.RuneCountInString(s))
		return n >= minL && (maxL < 0 || n <= maxL)
	}
	w, found, err := regSearch([]*rnfa{np}, nq, minL, maxL)
	switch {
	case err != nil:
	case found:
		if !inLen(w) || !rp.MatchString(w) || rq.MatchString(w) {
			t.Fatalf("%q ⊆ %q [%d,%d]: witness %q is not one", p, q, minL, maxL, w)
		}
	default:
		for _, s := range probeStrings {
			if inLen(s) && rp.MatchString(s) && !rq.MatchString(s) {
				t.Fatalf("%q ⊆ %q [%d,%d] said contained, but %q matches only the first", p, q, minL, maxL, s)
			}
		}
	}
	w, found, err = regSearch([]*rnfa{np, nq}, nil, minL, maxL)
	switch {
	case err != nil:
	case found:
		if !inLen(w) || !rp.MatchString(w) || !rq.MatchString(w) {
			t.Fatalf("%q ∩ %q: %q is not in both", p, q, w)
		}
	default:
		for _, s := range probeStrings {
			if inLen(s) && rp.MatchString(s) && rq.MatchString(s) {
				t.Fatalf("%q ∩ %q said empty, but %q matches both", p, q, s)
			}
		}
	}
}

func TestPatternAutomataAgreeWithRegexp(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 19))
	n := 1500
	if testing.Short() {
		n = 200
	}
	for i := 0; i < n; i++ {
		p, q := randomPattern(rng, 0), randomPattern(rng, 0)
		if rng.IntN(3) == 0 {
			q = p + []string{"", "$", "a"}[rng.IntN(3)]
		}
		lo, hi := int64(rng.IntN(3)), int64(-1)
		if rng.IntN(2) == 0 {
			hi = lo + int64(rng.IntN(4))
		}
		agree(t, p, q, lo, hi)
	}
}

func TestPatternRefusals(t *testing.T) {
	for _, p := range []string{`\bfoo`, `(?m)^a$`, `a\B`, strings.Repeat("a", maxRegexBytes+1)} {
		if _, err := compilePattern(p); err == nil {
			t.Errorf("%q was not refused", p)
		}
	}
	if _, err := compilePattern(`a{2,1000}`); err == nil {
		t.Log("a{2,1000} compiled within the budget")
	}
}

// FuzzPatterns: for any two patterns Go accepts, the automata never give a
// false witness or a false "contained" on short strings, and never panic.
func FuzzPatterns(f *testing.F) {
	for _, s := range [][2]string{{"^[a-c]+$", "^[a-z]+$"}, {"abc", "^abc"}, {"^a.c$", `^a[\s\S]c$`}, {"(?i)^ab", "^[aA][bB]"}, {"^(ab|cd)+$", "b"}} {
		f.Add(s[0], s[1], int8(0), int8(-1))
	}
	f.Fuzz(func(t *testing.T, p, q string, lo, hi int8) {
		if len(p) > 64 || len(q) > 64 || lo < 0 {
			return
		}
		if hi < -1 {
			hi = -1
		}
		agree(t, p, q, int64(lo%8), int64(hi%8))
	})
}
