package compat

import (
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

const maxRegexSample = 4096

// regexSamples returns strings matching pattern, with repetitions unrolled
// 0, 1, 2, ... times and towards the wanted lengths, so that a witness can
// satisfy A's pattern while breaking one of B's length bounds. Patterns Go
// cannot parse yield nothing.
func regexSamples(pattern string, lengths []int64) []string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	var out []string
	for _, rep := range []int{0, 1, 2, 3, 8} {
		if s, ok := sampleRegex(re, rep, 0); ok {
			out = append(out, s)
		}
	}
	// Stretch the shortest sample towards each wanted length by repeating
	// the first unbounded repetition more often.
	for _, n := range lengths {
		if n <= 0 || n > maxRegexSample {
			continue
		}
		for _, rep := range []int{int(n), int(n) + 1, int(n) / 2, int(n) - 1} {
			if rep < 0 {
				continue
			}
			if s, ok := sampleRegex(re, rep, 0); ok && int64(utf8.RuneCountInString(s)) >= n-1 {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

// sampleRegex builds one string matched by re, repeating every unbounded
// repetition rep times (bounded ones as close to rep as allowed).
func sampleRegex(re *syntax.Regexp, rep, depth int) (string, bool) {
	if depth > 64 {
		return "", false
	}
	var b strings.Builder
	var walk func(re *syntax.Regexp, depth int) bool
	walk = func(re *syntax.Regexp, depth int) bool {
		if depth > 64 || b.Len() > maxRegexSample {
			return false
		}
		switch re.Op {
		case syntax.OpNoMatch:
			return false
		case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
			syntax.OpWordBoundary, syntax.OpNoWordBoundary:
			return true
		case syntax.OpLiteral:
			for _, r := range re.Rune {
				b.WriteRune(r)
			}
			return true
		case syntax.OpCharClass:
			if len(re.Rune) < 2 {
				return false
			}
			b.WriteRune(pickRune(re.Rune))
			return true
		case syntax.OpAnyCharNotNL, syntax.OpAnyChar:
			b.WriteByte('a')
			return true
		case syntax.OpCapture:
			return walk(re.Sub[0], depth+1)
		case syntax.OpConcat:
			for _, s := range re.Sub {
				if !walk(s, depth+1) {
					return false
				}
			}
			return true
		case syntax.OpAlternate:
			return walk(re.Sub[0], depth+1)
		case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
			lo, hi := 0, -1
			switch re.Op {
			case syntax.OpPlus:
				lo = 1
			case syntax.OpQuest:
				hi = 1
			case syntax.OpRepeat:
				lo, hi = re.Min, re.Max
			}
			n := rep
			if n < lo {
				n = lo
			}
			if hi >= 0 && n > hi {
				n = hi
			}
			for i := 0; i < n; i++ {
				if !walk(re.Sub[0], depth+1) {
					return false
				}
			}
			return true
		}
		return false
	}
	if !walk(re, depth) {
		return "", false
	}
	return b.String(), true
}

// pickRune chooses a readable rune from a character class (pairs of ranges).
func pickRune(ranges []rune) rune {
	for _, pref := range []rune{'a', 'A', '0', 'x'} {
		for i := 0; i+1 < len(ranges); i += 2 {
			if ranges[i] <= pref && pref <= ranges[i+1] {
				return pref
			}
		}
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] >= ' ' {
			return ranges[i]
		}
	}
	return ranges[0]
}
