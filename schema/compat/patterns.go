package compat

import (
	"fmt"
	"strconv"
	"strings"
)

// nfa returns the search NFA of pattern, compiled once.
func (c *checker) nfa(pattern string) (*rnfa, error) {
	e, ok := c.regex.nfa[pattern]
	if !ok {
		e.n, e.err = compilePattern(pattern)
		c.regex.nfa[pattern] = e
	}
	return e.n, e.err
}

// search is regSearch over the patterns of accept (with the NFA of every
// string when there are none) and reject (none when ""), done once per
// question.
func (c *checker) search(accept []string, reject string, minL, maxL int64) (string, bool, error) {
	key := strings.Join(accept, "\x00") + "\x01" + reject + "\x01" + strconv.FormatInt(minL, 10) + "," + strconv.FormatInt(maxL, 10)
	if e, ok := c.regex.search[key]; ok {
		return e.w, e.found, e.err
	}
	var e searchEntry
	ns, err := c.nfasOf(accept)
	var rn *rnfa
	if err == nil && reject != "" {
		rn, err = c.nfa(reject)
	}
	if err == nil {
		e.w, e.found, e.err = regSearch(ns, rn, minL, maxL)
	} else {
		e.err = err
	}
	c.regex.search[key] = e
	return e.w, e.found, e.err
}

// patternsOf lists A's patterns: its own and those its formats imply.
func patternsOf(as strb, implied []string) []string {
	return append(sortedKeys(as.patterns), implied...)
}

// nfasOf returns the NFAs of patterns; with none, the NFA of every string.
func (c *checker) nfasOf(patterns []string) ([]*rnfa, error) {
	var out []*rnfa
	for _, p := range patterns {
		n, err := c.nfa(p)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		out = append(out, universal())
	}
	return out, nil
}

// pattern decides whether every string of A (its patterns, formats and
// lengths) matches B's pattern p: the languages are compared as automata,
// and a string that A's patterns accept and p rejects seeds the witness.
func (c *checker) pattern(a aset, b node, as strb, implied []string, p, path string, hints []hint) res {
	A, B, at := c.o.aName, c.o.bName, c.ptrName(path)
	rule := "pattern " + strconv.Quote(p)
	w, found, err := c.search(patternsOf(as, implied), p, as.minL, as.maxL)
	if err != nil {
		return c.maybe(a, kStr, b, path,
			fmt.Sprintf("cannot compare the strings %s allows at %s with %s's %s (%v)", A, at, B, rule, err), rule, hints)
	}
	if !found {
		return okRes()
	}
	hints = append([]hint{{str: w, isStr: true, n: -1}}, hints...)
	if v, ok := c.findWitness(a, kStr, b, hints); ok {
		return c.refuted(v, path, rule)
	}
	return unknown(fmt.Sprintf("%s's patterns and lengths at %s admit %s, which %s's %s rejects, but no value of %s with it was found",
		A, at, render(w), B, rule, A))
}
