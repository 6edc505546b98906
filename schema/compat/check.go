package compat

// How the check works. A is kept as a conjunction of schema nodes (after
// $ref and allOf); its anyOf/oneOf are split into cases (oneOf read as anyOf,
// which only widens A); A-side keywords the checker does not model are
// dropped, which also only widens A. B is taken apart keyword by keyword:
// A ⊆ B1 ∧ B2 iff A ⊆ B1 and A ⊆ B2. Finite A (enum, const, null, booleans)
// is decided exactly by validating each value against B. Recursive $refs are
// compared co-inductively: a pair (A, B) met again deeper in the instance is
// assumed to hold. Every difference found is turned into a concrete instance
// when possible and that witness is validated against both schemas before it
// is reported; what can be neither proven nor refuted is reported as such.

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// state is the internal three-valued outcome of comparing two schema nodes.
type state int

const (
	stOK state = iota
	stUnknown
	stBad
)

// res is the outcome of one (A, B) comparison. A bad result carries the
// differences and, when one was built, a candidate witness at this level that
// the caller wraps into its own instance.
type res struct {
	st     state
	diffs  []Difference
	wit    any
	hasWit bool
	why    []string
}

const (
	maxDiffs   = 20
	maxReasons = 6
)

func okRes() res { return res{} }

func unknown(why string) res { return res{st: stUnknown, why: []string{why}} }

func combine(rs ...res) res {
	var out res
	// The differences of the part whose witness is kept come first, so that
	// the reported reason matches the reported witness.
	first := -1
	for i, r := range rs {
		if r.st > out.st {
			out.st = r.st
		}
		if r.st == stBad && r.hasWit && first < 0 {
			first = i
			out.wit, out.hasWit = r.wit, true
		}
	}
	order := make([]int, 0, len(rs))
	if first >= 0 {
		order = append(order, first)
	}
	for i := range rs {
		if i != first {
			order = append(order, i)
		}
	}
	for _, i := range order {
		for _, d := range rs[i].diffs {
			if len(out.diffs) < maxDiffs {
				out.diffs = append(out.diffs, d)
			}
		}
		for _, w := range rs[i].why {
			if len(out.why) < maxReasons && !slices.Contains(out.why, w) {
				out.why = append(out.why, w)
			}
		}
	}
	if out.st != stBad {
		out.wit, out.hasWit = nil, false
	}
	return out
}

// checker holds the state of one Check call. It is not shared.
type checker struct {
	docs  map[string]any
	val   *validator
	o     options
	steps int
	stack map[string]string // co-inductive assumptions: (A, B) pair → instance location
	// valErr records the first failure to compile or run a validation; a
	// Compatible verdict reached while validations failed is not trusted.
	valErr error
	// regex holds the automata of the patterns met and the outcome of
	// searches over them; a Checker shares it between checks.
	regex *regexCache
	// pre holds the outcome of precheck per document.
	pre map[string]error
	// kinds memoizes inhabited; kdepth bounds its recursion.
	kinds  map[string]kinds
	kdepth int
	// compiled: the schemas are known to compile (package schema compiled
	// every schema of a descriptor when it loaded it), so they are compiled
	// only when a value is validated against them.
	compiled bool
}

type regexEntry struct {
	n   *rnfa
	err error
}

type searchEntry struct {
	w     string
	found bool
	err   error
}

type regexCache struct {
	nfa    map[string]regexEntry
	search map[string]searchEntry
}

func newRegexCache() *regexCache {
	return &regexCache{nfa: map[string]regexEntry{}, search: map[string]searchEntry{}}
}

func newChecker(docs map[string]any, o options) *checker {
	return newShared(docs, newValidator(docs), map[string]error{}, o)
}

// newShared returns a checker that uses (and fills) a validator and the
// results of prechecks that outlive it.
func newShared(docs map[string]any, val *validator, pre map[string]error, o options) *checker {
	return &checker{docs: docs, val: val, pre: pre, o: o, stack: map[string]string{}, regex: newRegexCache()}
}

// aset is A's side of a comparison: a conjunction of schema nodes (after
// following $ref and allOf), the anyOf/oneOf lists not yet split, and the
// kinds of instance still in play.
type aset struct {
	nodes []node
	disj  []disjunct
	used  map[string]bool
	mask  kinds
	empty bool
}

type disjunct struct {
	key      string
	branches []node
}

func (a aset) key() string {
	ks := make([]string, 0, len(a.nodes)+len(a.used))
	for _, n := range a.nodes {
		ks = append(ks, n.key())
	}
	sort.Strings(ks)
	us := make([]string, 0, len(a.used))
	for u := range a.used {
		us = append(us, u)
	}
	sort.Strings(us)
	return strings.Join(ks, ",") + "|" + strings.Join(us, ",") + "|" + strconv.Itoa(int(a.mask))
}

func (a aset) maps() []map[string]any {
	out := make([]map[string]any, 0, len(a.nodes))
	for _, n := range a.nodes {
		out = append(out, n.obj())
	}
	return out
}

func (a aset) withMask(k kinds) aset {
	a.mask &= k
	return a
}

// expand builds A's conjunction from roots. Keywords it cannot follow on A's
// side (an unresolvable $ref, not, if, ...) are dropped: that only widens A,
// so a Compatible verdict stays sound, and witnesses are validated anyway.
func (c *checker) expand(roots []node, used map[string]bool, mask kinds) aset {
	a := aset{used: used, mask: mask}
	seen := map[string]bool{}
	var walk func(n node, depth int)
	walk = func(n node, depth int) {
		if a.empty || depth > 64 {
			return
		}
		if b, ok := n.v.(bool); ok {
			if !b {
				a.empty = true
			}
			return
		}
		m := n.obj()
		if m == nil || seen[n.key()] {
			return
		}
		seen[n.key()] = true
		a.nodes = append(a.nodes, n)
		if neg, ok := m["not"]; ok && (node{v: neg}).isTrue() {
			a.empty = true // "not": {} admits nothing
			return
		}
		a.mask &= typeKinds(m["type"])
		if v, ok := m["const"]; ok {
			a.mask &= kindOf(v) | widen(kindOf(v))
		}
		if e, ok := m["enum"].([]any); ok {
			var k kinds
			for _, v := range e {
				k |= kindOf(v) | widen(kindOf(v))
			}
			a.mask &= k
		}
		if r, ok := m["$ref"].(string); ok {
			if t, err := resolveRef(c.docs, n, r); err == nil {
				walk(t, depth+1)
			}
		}
		if arr, ok := m["allOf"].([]any); ok {
			for i := range arr {
				walk(n.child("allOf", strconv.Itoa(i)), depth+1)
			}
		}
		for _, kw := range []string{"anyOf", "oneOf"} {
			arr, ok := m[kw].([]any)
			k := n.key() + "/" + kw
			if !ok || used[k] {
				continue
			}
			d := disjunct{key: k}
			for i := range arr {
				d.branches = append(d.branches, n.child(kw, strconv.Itoa(i)))
			}
			a.disj = append(a.disj, d)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return a
}

// widen maps a number's kind to both number kinds: the validator accepts
// 1.0 for an enum listing 1, and the split into kInt/kFrac must not matter.
func widen(k kinds) kinds {
	if k&kNum != 0 {
		return kNum
	}
	return k
}

// branch returns A restricted to branch i of its first pending disjunction.
func (c *checker) branch(a aset, br node) aset {
	used := make(map[string]bool, len(a.used)+1)
	for k := range a.used {
		used[k] = true
	}
	used[a.disj[0].key] = true
	roots := append(slices.Clone(a.nodes), br)
	return c.expand(roots, used, a.mask)
}

// validA reports whether x is an instance of A.
func (c *checker) validA(a aset, x any) bool {
	if a.empty || kindOf(x)&a.mask == 0 {
		return false
	}
	for _, n := range a.nodes {
		ok, err := c.val.valid(n, x)
		if err != nil && c.valErr == nil {
			c.valErr = err
		}
		if err != nil || !ok {
			return false
		}
	}
	return true
}

func (c *checker) validB(b node, x any) (bool, error) {
	if bv, ok := b.v.(bool); ok {
		return bv, nil
	}
	return c.val.valid(b, x)
}

const (
	maxFinite     = 4096
	maxFiniteInts = 64
)

// finite returns A's instances when A lists them (const or enum) or admits
// only null and booleans.
func (c *checker) finite(a aset) ([]any, bool) {
	var cand []any
	found := false
	for _, m := range a.maps() {
		if v, ok := m["const"]; ok {
			cand, found = []any{v}, true
			break
		}
		if e, ok := m["enum"].([]any); ok && len(e) <= maxFinite {
			if !found || len(e) < len(cand) {
				cand, found = e, true
			}
		}
	}
	if !found {
		k := c.kindsOf(a)
		if k&^(kNull|kBool|kInt) != 0 {
			return nil, false
		}
		cand = []any{nil, false, true}
		if k&kInt != 0 {
			// A few integers between bounds are a finite set too.
			lo, hi := intRange(numInfo(a.maps()))
			if lo == nil || hi == nil || new(big.Int).Sub(hi, lo).Cmp(big.NewInt(maxFiniteInts)) > 0 {
				return nil, false
			}
			for i := new(big.Int).Set(lo); i.Cmp(hi) <= 0; i.Add(i, big.NewInt(1)) {
				cand = append(cand, json.Number(i.String()))
			}
		}
	}
	var out []any
	for _, v := range cand {
		if c.validA(a, v) {
			out = append(out, v)
		}
	}
	return out, true
}

func (c *checker) ptrName(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

// sub compares A ⊆ b at instance location path.
func (c *checker) sub(a aset, b node, path string, depth int) res {
	c.steps++
	if c.steps > c.o.maxSteps {
		return unknown(fmt.Sprintf("work budget of %d steps exceeded", c.o.maxSteps))
	}
	if depth > c.o.maxDepth {
		return unknown(fmt.Sprintf("nesting deeper than %d at %s", c.o.maxDepth, c.ptrName(path)))
	}
	if a.empty || a.mask == 0 || b.isTrue() || c.hasSameNode(a, b) {
		return okRes()
	}
	key := a.key() + "⊆" + b.key()
	if at, ok := c.stack[key]; ok {
		if at == path {
			// The recursion came back to the same instance location without
			// descending into it: no co-inductive argument applies.
			return unknown(fmt.Sprintf("recursive $ref at %s does not descend into the instance", c.ptrName(path)))
		}
		// Co-induction: a recursive comparison that reaches, deeper in the
		// instance, a pair already under comparison holds unless something
		// else fails.
		return okRes()
	}
	c.stack[key] = path
	defer delete(c.stack, key)

	if vals, ok := c.finite(a); ok {
		return c.checkValues(vals, b, path)
	}
	if b.isFalse() {
		return c.mustBeEmpty(a, b, path)
	}
	if len(a.disj) > 0 {
		var rs []res
		for _, br := range a.disj[0].branches {
			rs = append(rs, c.sub(c.branch(a, br), b, path, depth+1))
			if rs[len(rs)-1].st == stBad && rs[len(rs)-1].hasWit {
				break
			}
		}
		return combine(rs...)
	}

	bm := b.obj()
	rs := []res{c.local(a, b, path, depth)}
	if r, ok := bm["$ref"].(string); ok {
		t, err := resolveRef(c.docs, b, r)
		if err != nil {
			rs = append(rs, unknown(fmt.Sprintf("%s at %s: %v", c.o.bName, c.ptrName(path), err)))
		} else {
			rs = append(rs, c.sub(a, t, path, depth+1))
		}
	}
	if arr, ok := bm["allOf"].([]any); ok {
		for i := range arr {
			rs = append(rs, c.sub(a, b.child("allOf", strconv.Itoa(i)), path, depth+1))
		}
	}
	if arr, ok := bm["anyOf"].([]any); ok && !sameKeyword(a, bm, "anyOf") {
		rs = append(rs, c.anyOf(a, b, children(b, "anyOf", len(arr)), path, depth))
	}
	if arr, ok := bm["oneOf"].([]any); ok && !sameKeyword(a, bm, "oneOf") {
		rs = append(rs, c.oneOf(a, b, children(b, "oneOf", len(arr)), path, depth))
	}
	if _, ok := bm["not"]; ok && !sameKeyword(a, bm, "not") {
		rs = append(rs, c.not(a, b, path, depth))
	}
	if _, ok := bm["if"]; ok && !exempt(a.nodes, bm, "if") {
		rs = append(rs, c.ifThenElse(a, b, path, depth))
	}
	return combine(rs...)
}

func locPrefix(path string) string {
	if path == "" {
		return ""
	}
	return path + " "
}

// hasSameNode reports whether one of A's conjuncts is B itself, textually
// and without references whose targets could differ: then A ⊆ B.
func (c *checker) hasSameNode(a aset, b node) bool {
	if hasRef(b.v) {
		return false
	}
	for _, n := range a.nodes {
		if jsonEqual(n.v, b.v) {
			return true
		}
	}
	return false
}

// sameKeyword reports whether one of A's conjuncts carries B's keyword kw
// with the same value (and no references), so that it holds for all of A.
func sameKeyword(a aset, bm map[string]any, kw string) bool {
	if hasRef(bm[kw]) {
		return false
	}
	for _, m := range a.maps() {
		if v, ok := m[kw]; ok && jsonEqual(v, bm[kw]) {
			return true
		}
	}
	return false
}

func children(n node, kw string, count int) []node {
	out := make([]node, count)
	for i := range out {
		out[i] = n.child(kw, strconv.Itoa(i))
	}
	return out
}

// checkValues decides A ⊆ B exactly for a finite A by validating each value.
func (c *checker) checkValues(vals []any, b node, path string) res {
	for _, v := range vals {
		ok, err := c.validB(b, v)
		if err != nil {
			return unknown(fmt.Sprintf("%s at %s cannot be validated: %v", c.o.bName, c.ptrName(path), err))
		}
		if !ok {
			return res{st: stBad, wit: v, hasWit: true, diffs: []Difference{{Pointer: path,
				Reason: fmt.Sprintf("%s can send %s%s, which %s does not allow", c.o.aName, locPrefix(path), render(v), c.o.bName), confirmed: true}}}
		}
	}
	return okRes()
}

func (c *checker) mustBeEmpty(a aset, b node, path string) res {
	if c.kindsOf(a) == 0 {
		return okRes()
	}
	what := path
	if what == "" {
		what = "values"
	}
	r := res{st: stBad, diffs: []Difference{{Pointer: path,
		Reason: fmt.Sprintf("%s allows %s, which %s forbids", c.o.aName, what, c.o.bName)}}}
	if w, ok := c.findWitness(a, kAll, b, nil); ok {
		r.wit, r.hasWit, r.diffs[0].confirmed = w, true, true
	}
	return r
}

// definite records a difference the analysis is sure of (given A is not
// empty there), with a witness when one can be found.
func (c *checker) definite(a aset, k kinds, b node, path, reason string, hints []hint) res {
	r := res{st: stBad, diffs: []Difference{{Pointer: path, Reason: reason}}}
	if w, ok := c.findWitness(a, k, b, hints); ok {
		r.wit, r.hasWit, r.diffs[0].confirmed = w, true, true
	}
	return r
}

// maybe records a comparison the checker cannot decide: unsure says why. A
// witness upgrades it to a difference, worded as a fact: A allows the witness,
// which rule (B's keyword that rejects it) does not.
func (c *checker) maybe(a aset, k kinds, b node, path, unsure, rule string, hints []hint) res {
	if w, ok := c.findWitness(a, k, b, hints); ok {
		return c.refuted(w, path, rule)
	}
	return unknown(unsure)
}

// refuted is the difference shown by w, a value at path that A allows and
// B's rule rejects.
func (c *checker) refuted(w any, path, rule string) res {
	reason := fmt.Sprintf("%s allows %s%s, which %s's %s rejects", c.o.aName, locPrefix(path), render(w), c.o.bName, rule)
	return res{st: stBad, wit: w, hasWit: true, diffs: []Difference{{Pointer: path, Reason: reason, confirmed: true}}}
}

// local compares A against B's own keywords (not its $ref or combinators).
func (c *checker) local(a aset, b node, path string, depth int) res {
	bm := b.obj()
	ak := c.kindsOf(a)
	bk := typeKinds(bm["type"])
	var rs []res
	if extra := ak &^ bk; extra != 0 {
		rs = append(rs, c.definite(a, extra, b, path,
			fmt.Sprintf("%s allows %s at %s, where %s allows only %s", c.o.aName, extra, c.ptrName(path), c.o.bName, bk), nil))
	}
	ak &= bk
	if ak == 0 {
		return combine(rs...)
	}
	_, hasEnum := bm["enum"]
	_, hasConst := bm["const"]
	if hasEnum || hasConst {
		for _, k := range ak.each() {
			if k == kNull || k == kBool {
				vals, _ := c.finite(a.withMask(k))
				rs = append(rs, c.checkValues(vals, b, path))
				continue
			}
			rs = append(rs, c.maybe(a, k, b, path,
				fmt.Sprintf("cannot tell whether every %s %s allows at %s is listed in %s's enum or const", k, c.o.aName, c.ptrName(path), c.o.bName),
				enumWord(bm), nil))
		}
		return combine(rs...)
	}
	if ak&kNum != 0 {
		rs = append(rs, c.numbers(a, ak&kNum, b, path))
	}
	if ak&kStr != 0 {
		rs = append(rs, c.strings(a, b, path))
	}
	if ak&kObj != 0 {
		rs = append(rs, c.objects(a.withMask(kObj), b, path, depth))
	}
	if ak&kArr != 0 {
		rs = append(rs, c.arrays(a.withMask(kArr), b, path, depth))
	}
	kws := make([]string, 0, 4)
	for kw := range bm {
		if kw == "uniqueItems" {
			if u, _ := bm[kw].(bool); !u {
				continue
			}
			if _, hi := countb(a.maps(), "minItems", "maxItems"); hi >= 0 && hi <= 1 {
				continue
			}
		}
		if owner := groupOwner[kw]; owner != "" && bm[owner] == nil {
			continue // then/else without if, min/maxContains without contains: no-ops
		}
		if (kw == "contains" || kw == "minContains") && c.containsHolds(a, b, path, depth) {
			continue
		}
		if k, ok := unmodelled[kw]; ok && k&ak != 0 && !exempt(a.nodes, bm, kw) {
			kws = append(kws, kw)
		}
	}
	sort.Strings(kws)
	for _, kw := range kws {
		rs = append(rs, c.maybe(a, ak&unmodelled[kw], b, path,
			fmt.Sprintf("%s uses %q at %s, which the checker does not model and %s does not carry identically", c.o.bName, kw, c.ptrName(path), c.o.aName),
			strconv.Quote(kw), nameHints(bm[kw], []hint{{n: 2}, {n: 3}})))
	}
	return combine(rs...)
}
