package compat

import (
	"encoding/json"
	"math/big"
	"math/rand/v2"
	"strings"
)

const (
	maxCands    = 256
	maxGenDepth = 5
	maxGenLen   = 4096
	maxGenItems = 64
)

// findWitness looks for an instance of A of kinds ks that b rejects.
func (c *checker) findWitness(a aset, ks kinds, b node, hints []hint) (any, bool) {
	for _, v := range c.gen(a, ks, 0, hints) {
		if c.validA(a, v) {
			if ok, err := c.validB(b, v); err == nil && !ok {
				return v, true
			}
		}
	}
	return nil, false
}

// gen proposes candidate instances of A (not all of them valid; callers
// validate). It favours boundary values: A's bounds and the hints.
func (c *checker) gen(a aset, ks kinds, depth int, hints []hint) []any {
	if a.empty {
		return nil
	}
	d := distinct{max: maxCands}
	add := func(v any) {
		if d.fresh(v) {
			d.out = append(d.out, v)
		}
	}
	if vals, ok := c.finite(a); ok {
		for _, v := range vals {
			if kindOf(v)&ks != 0 {
				add(v)
			}
		}
		return d.out
	}
	if len(a.disj) > 0 && depth < maxGenDepth {
		for _, br := range a.disj[0].branches {
			for _, v := range c.gen(c.branch(a, br), ks, depth+1, hints) {
				add(v)
			}
		}
	}
	k := c.kindsOf(a) & ks
	ms := a.maps()
	if k&kObj != 0 {
		for _, v := range c.objCands(a, depth, hints) {
			add(v)
		}
	}
	if k&kArr != 0 {
		for _, v := range c.arrCands(a, depth, hints) {
			add(v)
		}
	}
	if k&kStr != 0 {
		for _, v := range strCands(strInfo(ms), hints) {
			add(v)
		}
	}
	if k&kNum != 0 {
		for _, r := range numCands(numInfo(ms), hints) {
			kk := kFrac
			if r.IsInt() {
				kk = kInt
			}
			if kk&k != 0 {
				add(ratValue(r))
			}
		}
	}
	if k&kNull != 0 {
		add(nil)
	}
	if k&kBool != 0 {
		add(true)
		add(false)
	}
	return d.out
}

// distinct collects up to max values, each once: values with the same JSON text are one.
type distinct struct {
	out  []any
	seen map[string]bool
	max  int
}

// fresh reports whether v may be added to out: there is room, it has a JSON text, and no
// value with that text was offered before. v counts as offered from now on.
func (d *distinct) fresh(v any) bool {
	if len(d.out) >= d.max {
		return false
	}
	b, err := json.Marshal(v)
	if err != nil || d.seen[string(b)] {
		return false
	}
	if d.seen == nil {
		d.seen = map[string]bool{}
	}
	d.seen[string(b)] = true
	return true
}

// firstValid returns an instance of the conjunction of nodes.
func (c *checker) firstValid(nodes []node, depth int) (any, bool) {
	s := c.expand(nodes, nil, kAll)
	for _, v := range c.gen(s, kAll, depth, nil) {
		if c.validA(s, v) {
			return v, true
		}
	}
	return nil, false
}

func numCands(n numb, hints []hint) []*big.Rat {
	var out []*big.Rat
	half, tenth, one := big.NewRat(1, 2), big.NewRat(1, 10), big.NewRat(1, 1)
	around := func(r *big.Rat) {
		for _, d := range []*big.Rat{new(big.Rat), one, half, tenth} {
			out = append(out, new(big.Rat).Add(r, d), new(big.Rat).Sub(r, d))
		}
		out = append(out, new(big.Rat).Mul(r, big.NewRat(2, 1)), new(big.Rat).Mul(r, half), new(big.Rat).Mul(r, big.NewRat(3, 2)))
	}
	for _, h := range hints {
		if h.num != nil {
			around(h.num)
		}
	}
	for _, m := range n.mults {
		for _, k := range []int64{1, 2, 3, -1, 0} {
			out = append(out, new(big.Rat).Mul(m, big.NewRat(k, 1)))
		}
		if n.lo != nil {
			q := new(big.Rat).SetInt(ceilRat(new(big.Rat).Quo(n.lo, m)))
			lo := new(big.Rat).Mul(q, m)
			out = append(out, lo, new(big.Rat).Add(lo, m))
		}
		if n.hi != nil {
			q := new(big.Rat).SetInt(floorRat(new(big.Rat).Quo(n.hi, m)))
			hi := new(big.Rat).Mul(q, m)
			out = append(out, hi, new(big.Rat).Sub(hi, m))
		}
	}
	for _, r := range []*big.Rat{n.lo, n.hi} {
		if r != nil {
			around(r)
		}
	}
	if n.lo != nil && n.hi != nil {
		mid := new(big.Rat).Add(n.lo, n.hi)
		out = append(out, mid.Mul(mid, half))
	}
	for _, v := range []int64{0, 1, -1, 2, 10, -10, 100, 1000, -1000, 1000000} {
		out = append(out, big.NewRat(v, 1))
	}
	out = append(out, big.NewRat(1, 2), big.NewRat(-1, 2), big.NewRat(3, 2), big.NewRat(1, 10))
	return out
}

var formatSamples = map[string]string{
	"email": "a@example.com", "idn-email": "a@example.com", "date": "2024-01-02",
	"date-time": "2024-01-02T03:04:05Z", "time": "03:04:05Z", "duration": "P1D",
	"uuid": "123e4567-e89b-12d3-a456-426614174000", "uri": "https://example.com/x",
	"iri": "https://example.com/x", "uri-reference": "/x", "iri-reference": "/x",
	"uri-template": "/x/{id}", "hostname": "example.com", "idn-hostname": "example.com",
	"ipv4": "192.0.2.1", "ipv6": "2001:db8::1", "json-pointer": "/a", "relative-json-pointer": "0/a",
	"regex": "^a$",
}

func strCands(s strb, hints []hint) []any {
	var out []any
	for f := range s.formats {
		if v, ok := formatSamples[f]; ok {
			out = append(out, v)
		}
	}
	lens := []int64{s.minL, s.minL + 1, s.maxL}
	for _, h := range hints {
		if h.isStr {
			out = append(out, h.str)
			continue
		}
		lens = append(lens, h.n)
	}
	lens = append(lens, 0, 1, 3)
	for _, n := range lens {
		if n >= 0 && n <= maxGenLen {
			out = append(out, strings.Repeat("a", int(n)))
		}
	}
	out = append(out, "abc", "ABC", "123", "a1", "a-b", "a_b", "hello world", "-", " ", "x@y", "ü", "0")
	for _, p := range sortedKeys(s.patterns) {
		for _, v := range regexSamples(p, lens) {
			out = append(out, v)
		}
	}
	return out
}

func (c *checker) objCands(a aset, depth int, hints []hint) []any {
	if depth >= maxGenDepth {
		return []any{map[string]any{}}
	}
	req := sortedKeys(required(a))
	names := map[string]bool{}
	for _, m := range a.maps() {
		if props, ok := m["properties"].(map[string]any); ok {
			for p := range props {
				names[p] = true
			}
		}
	}
	base := map[string]any{}
	for _, p := range req {
		nodes, forb := propNodes(a, p)
		if forb {
			continue
		}
		v, _ := c.firstValid(nodes, depth+1)
		base[p] = v
	}
	clone := func() map[string]any {
		m := make(map[string]any, len(base)+1)
		for k, v := range base {
			m[k] = v
		}
		return m
	}
	out := []any{base}
	all := clone()
	count := 0
	for _, p := range sortedKeys(names) {
		if _, ok := base[p]; ok || count >= 16 {
			continue
		}
		nodes, forb := propNodes(a, p)
		if forb {
			continue
		}
		if v, ok := c.firstValid(nodes, depth+1); ok {
			m := clone()
			m[p] = v
			out = append(out, m)
			all[p] = v
			count++
		}
	}
	out = append(out, all)
	fresh := freshName(names)
	m := clone()
	m[fresh] = "x"
	out = append(out, m)
	for _, h := range hints {
		if h.name != "" && !names[h.name] {
			for _, v := range []any{"x", nil, json.Number("1")} {
				m := clone()
				m[h.name] = v
				out = append(out, m)
			}
		}
		if h.n > int64(len(base)) && h.n <= maxGenItems {
			m := clone()
			for i := 0; int64(len(m)) < h.n; i++ {
				m[fresh+strings.Repeat("x", i)] = nil
			}
			out = append(out, m)
		}
	}
	return out
}

func (c *checker) arrCands(a aset, depth int, hints []hint) []any {
	if depth >= maxGenDepth {
		return []any{[]any{}}
	}
	lo, hi := countb(a.maps(), "minItems", "maxItems")
	lens := []int64{lo, lo + 1, 0, 1, 2}
	for _, h := range hints {
		lens = append(lens, h.n)
	}
	items := map[int]any{}
	item := func(i int) any {
		if v, ok := items[i]; ok {
			return v
		}
		nodes, _ := itemNodes(a, i)
		v, _ := c.firstValid(nodes, depth+1)
		items[i] = v
		return v
	}
	var out []any
	done := map[int64]bool{}
	for _, n := range lens {
		if n < 0 || n > maxGenItems || n < lo || (hi >= 0 && n > hi) || done[n] {
			continue
		}
		done[n] = true
		arr := make([]any, n)
		for i := range arr {
			arr[i] = item(i)
		}
		out = append(out, arr)
	}
	return out
}

// samples returns up to n distinct instances valid under s: boundary values
// derived from the schema plus random variations of them, each confirmed
// with the validator. The property tests draw A's instances from it; the
// seed makes the output reproducible.
func samples(s Schema, n int, seed uint64) []any {
	docs := map[string]any{}
	name := addDocs(docs, "a", s)
	c := newChecker(docs, defaultOptions())
	root, err := at(docs, name, s.Pointer)
	if err != nil {
		return nil
	}
	if _, err := c.val.schema(root); err != nil {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	a := c.expand([]node{root}, nil, kAll)
	d := distinct{max: n}
	try := func(v any) {
		if !d.fresh(v) {
			return
		}
		if ok, err := c.val.valid(root, v); err == nil && ok {
			d.out = append(d.out, v)
		}
	}
	base := c.gen(a, kAll, 0, nil)
	for _, v := range base {
		try(v)
	}
	for i := 0; i < 8*n && len(d.out) < n; i++ {
		if len(base) > 0 && rng.IntN(3) > 0 {
			try(mutate(rng, base[rng.IntN(len(base))], 0))
		} else {
			try(randomValue(rng, 0))
		}
	}
	return d.out
}

func randomValue(rng *rand.Rand, depth int) any {
	k := rng.IntN(7)
	if depth > 2 && k >= 5 {
		k = rng.IntN(5)
	}
	switch k {
	case 0:
		return nil
	case 1:
		return rng.IntN(2) == 0
	case 2:
		return json.Number(big.NewRat(rng.Int64N(2001)-1000, 1).RatString())
	case 3:
		return ratValue(big.NewRat(rng.Int64N(20001)-10000, int64(1+rng.IntN(8))))
	case 4:
		const letters = "abcxyzABC0123 -_@."
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = letters[rng.IntN(len(letters))]
		}
		return string(b)
	case 5:
		arr := make([]any, rng.IntN(4))
		for i := range arr {
			arr[i] = randomValue(rng, depth+1)
		}
		return arr
	default:
		m := map[string]any{}
		for i := rng.IntN(4); i > 0; i-- {
			m[string(rune('a'+rng.IntN(6)))] = randomValue(rng, depth+1)
		}
		return m
	}
}

// mutate returns a random variation of v (v itself is not modified).
func mutate(rng *rand.Rand, v any, depth int) any {
	if depth > 4 || rng.IntN(5) == 0 {
		return randomValue(rng, depth)
	}
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t)+1)
		for k, e := range t {
			m[k] = e
		}
		keys := sortedAnyKeys(m)
		switch {
		case len(keys) > 0 && rng.IntN(3) == 0:
			delete(m, keys[rng.IntN(len(keys))])
		case len(keys) > 0 && rng.IntN(2) == 0:
			k := keys[rng.IntN(len(keys))]
			m[k] = mutate(rng, m[k], depth+1)
		default:
			m[string(rune('a'+rng.IntN(26)))] = randomValue(rng, depth+1)
		}
		return m
	case []any:
		arr := append([]any(nil), t...)
		if len(arr) > 0 && rng.IntN(2) == 0 {
			i := rng.IntN(len(arr))
			arr[i] = mutate(rng, arr[i], depth+1)
		} else {
			arr = append(arr, randomValue(rng, depth+1))
		}
		return arr
	case json.Number:
		r, ok := toRat(t)
		if !ok {
			return t
		}
		d := big.NewRat(rng.Int64N(7)-3, int64(1+rng.IntN(4)))
		return ratValue(r.Add(r, d))
	case string:
		if len(t) > 0 && rng.IntN(2) == 0 {
			return t[:rng.IntN(len(t))]
		}
		return t + string(rune('a'+rng.IntN(26)))
	}
	return randomValue(rng, depth)
}

func sortedAnyKeys(m map[string]any) []string {
	names := make(map[string]bool, len(m))
	for k := range m {
		names[k] = true
	}
	return sortedKeys(names)
}
