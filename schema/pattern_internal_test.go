package schema

import (
	"regexp"
	"testing"
)

var simplePatterns = []string{
	`^[A-Za-z0-9_-]{1,64}$`, `^[A-Z0-9 -]{2,12}$`, `^[A-Z]{2}$`, `^[A-Z]{3}-[0-9]{4,8}$`, `^ab+c$`, `^[a-c]+[d-f]{2,}$`,
	`^x$`, `^abc$`, `^[0-9]{1,3}\.[0-9]+$`,
	// Not simple: each must fall back to the regexp.
	`[A-Z]{2}`, `^[A-Z]{1,3}[A-Z]$`, `^[^a]+$`, `^(?i)[a-z]+$`, `^\p{L}+$`, `^a*$`, `^a?b$`, `^(ab)+$`, `^a|b$`, `^é+$`,
}

// A simple pattern, where one is built, matches exactly what the regexp matches.
func checkSimple(t *testing.T, re *regexp.Regexp, s string) {
	t.Helper()
	p := compileSimple(re)
	if p == nil {
		return
	}
	if got, want := p.match([]byte(s)), re.MatchString(s); got != want {
		t.Fatalf("pattern %s on %q: simple matcher says %v, regexp %v", re, s, got, want)
	}
}

func TestSimplePatterns(t *testing.T) {
	built := 0
	inputs := []string{"", "A", "AB", "ABC", "ABC-1234", "ABC-123456789", "ABCD-1234", "ab-1234", "SW1 2AB", "GB", "G", "GBR",
		"abc", "abbbc", "ac", "aadd", "aaddd", "ad", "x", "xx", "1.5", "123.", "1234.5", "\xff", "A\xffB", "AB\n", "o-1001", "é"}
	for _, src := range simplePatterns {
		re := regexp.MustCompile(src)
		if compileSimple(re) != nil {
			built++
		}
		for _, s := range inputs {
			checkSimple(t, re, s)
		}
	}
	if built != 9 {
		t.Fatalf("built %d simple matchers, want 9", built)
	}
}

func FuzzSimplePattern(f *testing.F) {
	f.Add(`^[A-Z]{3}-[0-9]{4,8}$`, "ABC-1234")
	f.Add(`^[a-c]+[d-f]{2,}$`, "abdd")
	f.Add(`^[A-Za-z0-9_-]{1,64}$`, "o-1")
	f.Fuzz(func(t *testing.T, src, s string) {
		re, err := regexp.Compile(src)
		if err != nil {
			return
		}
		checkSimple(t, re, s)
	})
}
