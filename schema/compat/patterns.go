package compat

import (
	"fmt"
	"strconv"
)

// nfa returns the search NFA of pattern, compiled once per check.
func (c *checker) nfa(pattern string) (*rnfa, error) {
	if c.regex == nil {
		c.regex = map[string]regexEntry{}
	}
	e, ok := c.regex[pattern]
	if !ok {
		e.n, e.err = compilePattern(pattern)
		c.regex[pattern] = e
	}
	return e.n, e.err
}

// nfas returns the NFAs of A's patterns (its own and those its formats
// imply); with none, the NFA of every string.
func (c *checker) nfas(as strb, implied []string) ([]*rnfa, error) {
	var out []*rnfa
	for _, p := range append(sortedKeys(as.patterns), implied...) {
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
	accept, err := c.nfas(as, implied)
	var bn *rnfa
	if err == nil {
		bn, err = c.nfa(p)
	}
	var w string
	found := false
	if err == nil {
		w, found, err = regSearch(accept, bn, as.minL, as.maxL)
	}
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
