package compat_test

import (
	"strings"
	"testing"

	"github.com/jesus-go/jesus/schema/compat"
)

// TestWording holds the rules for what a result says: a difference a checked
// witness shows is stated as a fact, bounds are named as the schema wrote them,
// one cause is reported once, and every reason is one sentence on one line.
func TestWording(t *testing.T) {
	extra := []pair{
		{"exclusive minimum", `{"type":"number"}`, `{"type":"number","exclusiveMinimum":0}`, I, "at or below B's exclusiveMinimum 0"},
		{"exclusive maximum on integers", `{"type":"integer","maximum":10}`, `{"type":"integer","exclusiveMaximum":10}`, I, "at or above B's exclusiveMaximum 10"},
		{"inclusive minimum", `{"type":"number"}`, `{"type":"number","minimum":0}`, I, "below B's minimum 0"},
		{"unmodelled keyword refuted", `{"type":"array","items":{"type":"integer"}}`, `{"type":"array","uniqueItems":true}`, I, `which B's "uniqueItems" rejects`},
	}
	for _, p := range append(extra, pairs...) {
		r, err := compat.CheckJSON([]byte(p.a), []byte(p.b))
		if err != nil {
			t.Fatal(err)
		}
		texts := []string{r.Reason}
		for _, d := range r.Differences {
			texts = append(texts, d.Reason)
		}
		if r.Verdict == compat.Incompatible {
			seen := map[string]bool{}
			for _, d := range r.Differences {
				if seen[d.Pointer+"|"+d.Reason] {
					t.Errorf("%s: difference reported twice: %s", p.name, d.Reason)
				}
				seen[d.Pointer+"|"+d.Reason] = true
			}
			for _, s := range texts {
				for _, vague := range []string{"may ", "might", "does not model", "cannot", "suspected", "not confirmed"} {
					if strings.Contains(s, vague) {
						t.Errorf("%s: a confirmed incompatibility is worded as uncertain (%q): %s", p.name, vague, s)
					}
				}
			}
		}
		for _, s := range texts {
			if strings.ContainsAny(s, "\n\r") || strings.Contains(s, "; ") || strings.Contains(s, ". ") {
				t.Errorf("%s: reason runs messages together: %q", p.name, s)
			}
		}
		if p.reason != "" && r.Verdict == p.want && !strings.Contains(strings.Join(texts, " | "), p.reason) {
			t.Errorf("%s: %q does not say %q", p.name, strings.Join(texts, " | "), p.reason)
		}
		if r.Verdict != p.want {
			t.Errorf("%s: verdict %v, want %v: %s", p.name, r.Verdict, p.want, r.Reason)
		}
	}
}

// TestLinesWitnessFollowsItsDifference: with two causes, the example printed
// is the one of the first, right under it.
func TestLinesWitnessFollowsItsDifference(t *testing.T) {
	caller := parse(t, `{"service":"a","version":"1.0.0","channels":{"rpc":"tcp+json"},"calls":{"b.m":{"request":
		{"type":"object","properties":{"n":{"type":"number"},"s":{"type":"string"}}}}}}`)
	recv := parse(t, `{"service":"b","version":"1.0.0","channels":{"rpc":"tcp+json"},"methods":{"m":{"mode":"noResponse","channel":"rpc","request":
		{"type":"object","properties":{"n":{"type":"integer"},"s":{"type":"string","maxLength":2}}}}}}`)
	rep := compat.CheckCall(caller, "b.m", recv)
	lines := rep.Items[0].Lines()
	if len(lines) != 3 || !strings.Contains(lines[0], "/n") || !strings.HasPrefix(lines[1], "  for example: ") || !strings.Contains(lines[2], "/s") {
		t.Fatalf("%q", lines)
	}
}
