package schema

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/jesus-go/jesus/codec"
)

// A tape is an encoded message read into a flat list of tokens, one per value, in document
// order; the value of an object member carries its key. It is what the encoded-bytes validator walks instead of
// a tree of map[string]any and []any: strings stay slices of the message (or of scratch,
// where decoding changes them), numbers stay unboxed, containers know where they end.
// The readers (tape_msgpack.go, tape_json.go) accept exactly the messages that codec
// decodes and precheck accepts, or fewer: a message they refuse takes the slow path. They
// read with codec.MsgpackReader and codec.JSONReader, so the rules are codec's own.

type tkind uint8

const (
	tkNull tkind = iota
	tkFalse
	tkTrue
	tkInt     // i
	tkUint    // uint64(i), above MaxInt64
	tkFloat   // math.Float64frombits(uint64(i))
	tkNumText // a JSON number: its text
	tkStr
	tkArr
	tkObj
)

type tok struct {
	kind tkind
	// scratch, kscratch: the bytes of the string, of the key, are in tape.scratch, not in
	// the message.
	scratch, kscratch bool
	// dup: an object with two members of the same key (the decoded map keeps the last).
	dup bool
	// a, b: for tkArr and tkObj the number of items or members and the index of the token
	// after the container; for tkStr and tkNumText where the bytes are (offset, length);
	// for tkInt, tkUint and tkFloat the high and low halves of the 64 bits. 32 bits are
	// enough: the readers refuse messages over maxTapeInput bytes.
	a, b      uint32
	koff, kln int32 // a member of an object: where its key is
}

func (k *tok) bits() int64 { return int64(uint64(k.a)<<32 | uint64(k.b)) }

// maxTapeInput bounds the messages read into a tape (larger ones take the slow path), so
// that offsets, including those into scratch (base64 grows a bin by a third, a timestamp grows at most sixfold), fit an int32.
const maxTapeInput = 1 << 27

type tape struct {
	data    []byte
	scratch []byte
	toks    []tok
	keys    []int // key token indices, to find duplicates in large objects
	open    []int // the containers a reader has not closed yet
	mp      codec.MsgpackReader
	mpToks  [64]codec.MsgpackToken
	js      codec.JSONReader
	jsToks  [64]codec.JSONToken
}

// Pooled tapes above these sizes are dropped rather than kept.
const (
	maxPooledToks    = 1 << 14
	maxPooledScratch = 1 << 16
)

var tapes = sync.Pool{New: func() any { return new(tape) }}

func getTape(data []byte) *tape {
	t := tapes.Get().(*tape)
	t.data = data
	return t
}

func putTape(t *tape) {
	t.data = nil
	t.mp.Reset(nil, 0)
	t.js.Reset(nil, 0)
	if cap(t.toks) > maxPooledToks || cap(t.scratch) > maxPooledScratch {
		return
	}
	t.toks = t.toks[:0]
	t.scratch = t.scratch[:0]
	t.keys = t.keys[:0]
	t.open = t.open[:0]
	tapes.Put(t)
}

// add appends a token and returns it. Its fields are stored one by one by the caller: a
// token built aside and copied in whole is read back in wider words than its fields were
// written, which stalls the processor (store forwarding) on every token.
func (t *tape) add() *tok {
	n := len(t.toks)
	if n == cap(t.toks) {
		t.toks = slices.Grow(t.toks, 1)
	}
	t.toks = t.toks[:n+1]
	p := &t.toks[n]
	*p = tok{}
	return p
}

func (t *tape) push(k tkind, i int64) int {
	p := t.add()
	p.kind, p.a, p.b = k, uint32(uint64(i)>>32), uint32(i)
	return len(t.toks) - 1
}

// pushSpan adds a string or number token whose bytes are data[off:off+ln].
func (t *tape) pushSpan(k tkind, off, ln int) {
	p := t.add()
	p.kind, p.a, p.b = k, uint32(off), uint32(ln)
}

// pushScratch adds a string token whose bytes are scratch[from:].
func (t *tape) pushScratch(from int) {
	p := t.add()
	p.kind, p.scratch, p.a, p.b = tkStr, true, uint32(from), uint32(len(t.scratch)-from)
}

func (t *tape) bytes(i int) []byte {
	k := &t.toks[i]
	if k.scratch {
		return t.scratch[k.a : k.a+k.b]
	}
	return t.data[k.a : k.a+k.b]
}

// next returns the index of the token after the value at i.
func (t *tape) next(i int) int {
	if k := &t.toks[i]; k.kind == tkArr || k.kind == tkObj {
		return int(k.b)
	}
	return i + 1
}

// key returns the key of the object member at i.
func (t *tape) key(i int) []byte {
	k := &t.toks[i]
	if k.kscratch {
		return t.scratch[k.koff : k.koff+k.kln]
	}
	return t.data[k.koff : k.koff+k.kln]
}

// setKey records the key of the member whose value is the token at j.
func (t *tape) setKey(j, off, ln int, scratch bool) {
	k := &t.toks[j]
	k.koff, k.kln, k.kscratch = int32(off), int32(ln), scratch
}

// closeObj records the end of the object at i and whether two of its keys are equal.
func (t *tape) closeObj(i, n int) {
	t.toks[i].a = uint32(n)
	t.toks[i].b = uint32(len(t.toks))
	if n < 2 {
		return
	}
	if n <= 16 {
		// One walk over the members, then every pair: keys of different lengths differ.
		var m [16]int
		for a, j := i+1, 0; a < len(t.toks); a, j = t.next(a), j+1 {
			m[j] = a
		}
		for x := 0; x < n; x++ {
			la := t.toks[m[x]].kln
			for y := x + 1; y < n; y++ {
				if t.toks[m[y]].kln == la && string(t.key(m[x])) == string(t.key(m[y])) {
					t.toks[i].dup = true
					return
				}
			}
		}
		return
	}
	t.keys = t.keys[:0]
	for a := i + 1; a < len(t.toks); a = t.next(a) {
		t.keys = append(t.keys, a)
	}
	slices.SortFunc(t.keys, func(a, b int) int { return bytes.Compare(t.key(a), t.key(b)) })
	for j := 1; j < len(t.keys); j++ {
		if bytes.Equal(t.key(t.keys[j-1]), t.key(t.keys[j])) {
			t.toks[i].dup = true
			return
		}
	}
}

// value builds the JSON-ready value at i, as the codec decoders build it.
func (t *tape) value(i int) any {
	k := &t.toks[i]
	switch k.kind {
	case tkNull:
		return nil
	case tkFalse:
		return false
	case tkTrue:
		return true
	case tkInt:
		return k.bits()
	case tkUint:
		return uint64(k.bits())
	case tkFloat:
		return math.Float64frombits(uint64(k.bits()))
	case tkNumText:
		return json.Number(t.bytes(i))
	case tkStr:
		return string(t.bytes(i))
	case tkArr:
		a := make([]any, 0, k.a)
		for j := i + 1; j < int(k.b); j = t.next(j) {
			a = append(a, t.value(j))
		}
		return a
	}
	m := make(map[string]any, k.a)
	for j := i + 1; j < int(k.b); j = t.next(j) {
		m[string(t.key(j))] = t.value(j)
	}
	return m
}

// num is the number at i.
func (t *tape) num(i int) num {
	k := &t.toks[i]
	switch k.kind {
	case tkInt:
		return num{kind: kInt, i: k.bits(), f: float64(k.bits())}
	case tkUint:
		return num{kind: kUint, u: uint64(k.bits()), f: float64(uint64(k.bits()))}
	case tkFloat:
		return num{kind: kFloat, f: math.Float64frombits(uint64(k.bits()))}
	}
	b := t.bytes(i)
	if v, ok := plainInt(b); ok {
		return num{kind: kInt, i: v, f: float64(v)}
	}
	return num{kind: kText, t: b, f: parseFloat(b)}
}

func isNumTok(k tkind) bool { return k >= tkInt && k <= tkNumText }

// parseFloat rounds a JSON number, ±Inf on overflow as toNum does.
func parseFloat(b []byte) float64 {
	f, _ := strconv.ParseFloat(string(b), 64)
	return f
}
