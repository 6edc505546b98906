package compat

import (
	"fmt"
	"slices"
	"strings"

	"github.com/jesus-go/jesus/schema/internal/ref"
)

// internalURLs strips the in-memory URLs the validator sees from messages.
var internalURLs = strings.NewReplacer(ref.Base+"a/", "", ref.Base+"b/", "")

// top runs a whole check and turns the analysis into a Result, confirming
// any witness with the validator.
func (c *checker) top(an, bn node) Result {
	a, err := at(c.docs, an.file, an.ptr)
	if err != nil {
		return Result{Verdict: Unproven, Reason: fmt.Sprintf("schema %s: %v", c.o.aName, err)}
	}
	b, err := at(c.docs, bn.file, bn.ptr)
	if err != nil {
		return Result{Verdict: Unproven, Reason: fmt.Sprintf("schema %s: %v", c.o.bName, err)}
	}
	for _, f := range []string{an.file, bn.file} {
		err, ok := c.pre[f]
		if !ok {
			err = precheck(c.docs, f)
			c.pre[f] = err
		}
		if err != nil {
			return Result{Verdict: Unproven, Reason: err.Error()}
		}
	}
	for _, s := range []struct {
		n    node
		name string
	}{{a, c.o.aName}, {b, c.o.bName}} {
		if c.compiled {
			break
		}
		if _, err := c.val.schema(s.n); err != nil {
			return Result{Verdict: Unproven, Reason: fmt.Sprintf("schema %s does not compile: %s", s.name, internalURLs.Replace(err.Error()))}
		}
	}
	as := c.expand([]node{a}, nil, kAll)
	r := c.sub(as, b, "", 0)
	if r.st == stOK && c.valErr != nil {
		return Result{Verdict: Unproven, Reason: fmt.Sprintf("a validation needed for the proof failed: %v", c.valErr)}
	}
	if r.st == stOK {
		return Result{Verdict: Compatible, Reason: fmt.Sprintf("every instance of %s is valid under %s", c.o.aName, c.o.bName)}
	}
	confirm := func(w any) bool {
		okA, errA := c.val.valid(a, w)
		okB, errB := c.validB(b, w)
		return errA == nil && errB == nil && okA && !okB
	}
	if r.st == stBad && r.hasWit && confirm(r.wit) {
		diffs := confirmedOnly(r.diffs)
		return Result{Verdict: Incompatible, Witness: r.wit, Differences: diffs, Reason: diffs[0].Reason}
	}
	// Search A's instances for a counterexample the analysis did not build.
	for _, w := range c.gen(as, kAll, 0, nil) {
		if confirm(w) {
			// The witness came from the search, not from a difference the
			// analysis pinned down: the witness is the one difference.
			diffs := []Difference{{Reason: fmt.Sprintf("%s allows %s, which %s rejects", c.o.aName, render(w), c.o.bName), confirmed: true}}
			return Result{Verdict: Incompatible, Witness: w, Differences: diffs, Reason: diffs[0].Reason}
		}
	}
	if r.st == stBad {
		return Result{Verdict: Unproven, Differences: r.diffs,
			Reason: "no value confirms the suspected difference: " + r.diffs[0].Reason}
	}
	u := Result{Verdict: Unproven, Reason: r.why[0]}
	if len(r.why) > 1 {
		for _, w := range r.why {
			u.Differences = append(u.Differences, Difference{Reason: w})
		}
	}
	return u
}

// confirmedOnly keeps the differences a value showed, each once; the first
// is the one the result's witness shows.
func confirmedOnly(diffs []Difference) []Difference {
	out := diffs[:1:1]
	for _, d := range diffs[1:] {
		if d.confirmed && !slices.ContainsFunc(out, func(o Difference) bool { return o.Pointer == d.Pointer && o.Reason == d.Reason }) {
			out = append(out, d)
		}
	}
	return out
}

// enumWord names B's enum or const keyword in a reason.
func enumWord(bm map[string]any) string {
	if _, ok := bm["const"]; ok {
		return `"const"`
	}
	return `"enum"`
}
