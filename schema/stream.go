package schema

import (
	"bytes"
	"math"
	"slices"
	"sync"

	"github.com/jesus-go/jesus/codec"
)

// Validating a msgpack message as it is read: most message schemas check every value
// once, in document order (properties, items, bounds, patterns, enums of scalars), so
// they need no tape. The stream walker reads tokens with codec.MsgpackReader and checks
// each as it comes, which saves writing the tape and reading it back. A schema that looks
// at a value more than once (allOf, anyOf, oneOf, not, if, a $ref beside other keywords,
// patternProperties), compares whole objects or arrays (const, enum) or falls back to
// jsonschema/v5 is not streamable, and takes the tape (validT). uniqueItems streams for
// arrays of up to 64 scalars.
//
// Like validT, the walker only has to be right when it accepts: anything it does not
// accept (an invalid message, or one it is unsure of: a duplicate key, a bin or timestamp,
// an integer key) is read again on the tape, whose verdict stands.

// markStreamable sets n.stream on every node of a tree whose walk is a single pass.
// Recursive schemas are streamable unless something in the cycle is not.
func markStreamable(nodes []*node) {
	for _, n := range nodes {
		n.stream = n.streamableAlone()
	}
	for changed := true; changed; {
		changed = false
		for _, n := range nodes {
			if n.stream && !n.childrenStream() {
				n.stream, changed = false, true
			}
		}
	}
}

// streamableAlone reports whether n's own keywords allow a single pass.
func (n *node) streamableAlone() bool {
	if n.refOnly {
		return n.ref != nil
	}
	if n.fallback || n.applicators || len(n.patternProps) > 0 || len(n.props) > 64 {
		return false
	}
	for _, l := range append(slices.Clip(n.consts), n.enum...) {
		switch l.v.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}

func (n *node) childrenStream() bool {
	if n.refOnly {
		return n.ref.stream
	}
	for _, p := range n.props {
		if !p.n.stream {
			return false
		}
	}
	for _, c := range append(slices.Clip(n.prefix), n.items, n.addlNode) {
		if c != nil && !c.stream {
			return false
		}
	}
	return true
}

// mpStream reads the tokens of one message for the stream walker, a batch at a time.
type mpStream struct {
	r    codec.MsgpackReader
	data []byte
	buf  [32]codec.MsgpackToken
	n, i int
	bad  bool      // the reader failed: nothing more to read
	keys []keySpan // the keys of the objects being read, innermost last
	seen []scalar  // the items of the uniqueItems arrays being read, innermost last
}

// maxUniqueStream is the longest uniqueItems array the stream walker checks (pairwise);
// a longer one is the tape's.
const maxUniqueStream = 64

type keySpan struct{ off, n int32 }

var streams = sync.Pool{New: func() any { return new(mpStream) }}

// next returns the next token, or nil when the message has no more or is malformed. A
// token stays valid until 32 more are read.
func (s *mpStream) next() *codec.MsgpackToken {
	if s.i == s.n {
		if s.bad {
			return nil
		}
		n, err := s.r.Read(s.buf[:])
		s.n, s.i, s.bad = n, 0, err != nil || n == 0
		if n == 0 {
			return nil
		}
	}
	t := &s.buf[s.i]
	s.i++
	return t
}

// validStream reports whether data is a valid message for n, read in one pass; false
// means invalid or unsure.
func (n *node) validStream(data []byte, maxDepth int) bool {
	if len(data) > maxTapeInput {
		return false
	}
	s := streams.Get().(*mpStream)
	s.data, s.n, s.i, s.bad, s.keys, s.seen = data, 0, 0, false, s.keys[:0], s.seen[:0]
	s.r.Reset(data, maxDepth)
	ok := false
	if t := s.next(); t != nil {
		ok = n.validS(s, t, 0) && s.i == s.n && !s.bad && s.r.End() == nil
	}
	s.data = nil
	s.r.Reset(nil, 0)
	if cap(s.keys) <= 1<<12 && cap(s.seen) <= 1<<12 {
		streams.Put(s)
	}
	return ok
}

// skip reads past the contents of the container whose header t is.
func (s *mpStream) skip(t *codec.MsgpackToken) bool {
	if t.Kind != codec.MsgpackArray && t.Kind != codec.MsgpackMap {
		return t.Kind != codec.MsgpackBin && t.Kind != codec.MsgpackTime
	}
	for range t.Len {
		c := s.next()
		if c == nil || c.Key != codec.MsgpackNil && c.Key != codec.MsgpackStr || !s.skip(c) {
			return false
		}
	}
	return true
}

// validS is validT for the value whose token t was just read; it reads the whole value.
func (n *node) validS(s *mpStream, t *codec.MsgpackToken, depth int) bool {
	for n.refOnly {
		n = n.ref
	}
	if n.always != 0 {
		return n.always > 0 && s.skip(t)
	}
	kind := t.Kind
	if n.types != 0 && !n.typeOKS(t) {
		return false
	}
	if n.valueChecks && !n.validValueS(s, t) {
		return false
	}
	switch kind {
	case codec.MsgpackMap:
		return n.validObjectS(s, t.Len, depth)
	case codec.MsgpackArray:
		return n.validArrayS(s, t.Len, depth)
	case codec.MsgpackStr:
		return n.validString(s.data[t.Off : t.Off+t.Len])
	case codec.MsgpackInt, codec.MsgpackUint, codec.MsgpackFloat:
		if n.hasNum {
			v := numS(t)
			return n.validNum(&v)
		}
		return true
	case codec.MsgpackNil, codec.MsgpackBool:
		return true
	}
	return false // bin, timestamp: their JSON forms are for the tape
}

func numS(t *codec.MsgpackToken) num {
	switch t.Kind {
	case codec.MsgpackInt:
		return num{kind: kInt, i: t.Int(), f: float64(t.Int())}
	case codec.MsgpackUint:
		return num{kind: kUint, u: t.Uint(), f: float64(t.Uint())}
	}
	return num{kind: kFloat, f: t.Float()}
}

func (n *node) typeOKS(t *codec.MsgpackToken) bool {
	var k uint8
	switch t.Kind {
	case codec.MsgpackNil:
		k = tNull
	case codec.MsgpackBool:
		k = tBool
	case codec.MsgpackStr:
		k = tString
	case codec.MsgpackArray:
		k = tArray
	case codec.MsgpackMap:
		k = tObject
	case codec.MsgpackInt, codec.MsgpackUint:
		return n.types&(tNumber|tInteger) != 0
	case codec.MsgpackFloat:
		f := t.Float()
		return n.types&tNumber != 0 || n.types&tInteger != 0 && f == math.Trunc(f)
	default:
		return false
	}
	return n.types&k != 0
}

// validValueS checks const, enum and format on a scalar; a container has none that
// matches (streamable nodes have no container literals), and its format is for the tape.
func (n *node) validValueS(s *mpStream, t *codec.MsgpackToken) bool {
	if n.consts != nil && !n.consts[0].equalS(s, t) {
		return false
	}
	if n.enum != nil && !anyLit(n.enum, func(l *lit) bool { return l.equalS(s, t) }) {
		return false
	}
	if n.format == nil {
		return true
	}
	switch t.Kind {
	case codec.MsgpackStr:
		b := s.data[t.Off : t.Off+t.Len]
		return n.fastFormat != nil && n.fastFormat(b) || n.format(string(b))
	case codec.MsgpackNil:
		return n.format(nil)
	case codec.MsgpackBool:
		return n.format(t.Bool())
	case codec.MsgpackInt:
		return n.format(t.Int())
	case codec.MsgpackUint:
		return n.format(t.Uint())
	case codec.MsgpackFloat:
		return n.format(t.Float())
	}
	return false
}

func (l *lit) equalS(s *mpStream, t *codec.MsgpackToken) bool {
	switch t.Kind {
	case codec.MsgpackInt, codec.MsgpackUint, codec.MsgpackFloat:
		if l.num == nil {
			return false
		}
		v := numS(t)
		return v.cmp(l.num) == 0
	case codec.MsgpackNil:
		return l.num == nil && l.v == nil
	case codec.MsgpackBool:
		b, ok := l.v.(bool)
		return ok && b == t.Bool()
	case codec.MsgpackStr:
		str, ok := l.v.(string)
		return ok && string(s.data[t.Off:t.Off+t.Len]) == str
	}
	return false
}

func (n *node) validObjectS(s *mpStream, count, depth int) bool {
	if n.minProps >= 0 && count < n.minProps || n.maxProps >= 0 && count > n.maxProps {
		return false
	}
	// Declared properties are tracked in a bitset, which also finds a repeated one; the
	// keys of the others are kept, for repeats and for names required or depended on.
	base := len(s.keys)
	var found uint64
	ok := true
	for i := 0; ok && i < count; i++ {
		v := s.next()
		if v == nil || v.Key != codec.MsgpackStr {
			ok = false
			break
		}
		key := s.data[v.KeyOff : v.KeyOff+v.KeyLen]
		p, isProp := -1, false
		if i < len(n.props) && n.props[i].name == string(key) { // the writer's order
			p, isProp = i, true
		} else {
			p, isProp = n.propIndex(key)
		}
		switch {
		case isProp:
			if found&(1<<p) != 0 {
				ok = false // a repeated key: the decoded map keeps the last, the tape's
				break
			}
			found |= 1 << p
			ok = n.props[p].n.validS(s, v, depth+1)
		case n.addl == 1:
			ok = false
		default:
			s.keys = append(s.keys, keySpan{int32(v.KeyOff), int32(v.KeyLen)})
			if n.addl == 2 {
				ok = n.addlNode.validS(s, v, depth+1)
			} else {
				ok = s.skip(v)
			}
		}
	}
	ok = ok && n.objectRulesS(s, s.keys[base:], found)
	s.keys = s.keys[:base]
	return ok
}

// objectRulesS checks required and dependentRequired once an object is read: found holds
// the declared properties present, others the keys of the rest.
func (n *node) objectRulesS(s *mpStream, others []keySpan, found uint64) bool {
	if len(others) > 1 && dupKeys(s.data, others) {
		return false // the decoded map keeps the last: the tape's
	}
	for ri, r := range n.required {
		if p := n.reqIdx[ri]; p >= 0 {
			if found&(1<<p) == 0 {
				return false
			}
		} else if !hasKey(s.data, others, r) {
			return false
		}
	}
	if len(n.depRequired) == 0 {
		return true
	}
	present := func(name string) bool {
		if p, ok := n.propIdx[name]; ok {
			return found&(1<<p) != 0
		}
		return hasKey(s.data, others, name)
	}
	for name, deps := range n.depRequired {
		if present(name) {
			for _, d := range deps {
				if !present(d) {
					return false
				}
			}
		}
	}
	return true
}

func hasKey(data []byte, keys []keySpan, name string) bool {
	for _, k := range keys {
		if string(data[k.off:k.off+k.n]) == name {
			return true
		}
	}
	return false
}

// dupKeys reports whether two of keys are equal.
func dupKeys(data []byte, keys []keySpan) bool {
	if len(keys) <= 16 {
		for x := range keys {
			a := data[keys[x].off : keys[x].off+keys[x].n]
			for y := x + 1; y < len(keys); y++ {
				if keys[y].n == keys[x].n && bytes.Equal(a, data[keys[y].off:keys[y].off+keys[y].n]) {
					return true
				}
			}
		}
		return false
	}
	sorted := slices.Clone(keys)
	key := func(k keySpan) []byte { return data[k.off : k.off+k.n] }
	slices.SortFunc(sorted, func(a, b keySpan) int { return bytes.Compare(key(a), key(b)) })
	for j := 1; j < len(sorted); j++ {
		if bytes.Equal(key(sorted[j-1]), key(sorted[j])) {
			return true
		}
	}
	return false
}

func (n *node) validArrayS(s *mpStream, count, depth int) bool {
	if n.minItems >= 0 && count < n.minItems || n.maxItems >= 0 && count > n.maxItems {
		return false
	}
	if n.unique && count > maxUniqueStream {
		return false // the tape's
	}
	base := len(s.seen) // the items kept for uniqueItems, of this array (a failed walk is abandoned whole)
	for idx := range count {
		v := s.next()
		if v == nil {
			return false
		}
		if n.unique {
			x := scalarOf(v)
			if x.kind == codec.MsgpackArray || mayEqualAny(s.data, s.seen[base:], x) {
				return false // a container, or maybe a repeat: the tape decides
			}
			s.seen = append(s.seen, x)
		}
		var c *node
		switch {
		case idx < len(n.prefix):
			c = n.prefix[idx]
		case n.items != nil:
			c = n.items
		}
		if c == nil {
			if !s.skip(v) {
				return false
			}
		} else if !c.validS(s, v, depth+1) {
			return false
		}
	}
	s.seen = s.seen[:base]
	return true
}

// scalar is an array item kept for uniqueItems: its kind, and its bits or the span of its
// string. Containers are all kept as MsgpackArray.
type scalar struct {
	kind codec.MsgpackKind
	bits uint64
	off  int
	n    int
}

func scalarOf(t *codec.MsgpackToken) scalar {
	switch t.Kind {
	case codec.MsgpackStr:
		return scalar{kind: t.Kind, off: t.Off, n: t.Len}
	case codec.MsgpackInt:
		return scalar{kind: t.Kind, bits: uint64(t.Int())}
	case codec.MsgpackUint:
		return scalar{kind: t.Kind, bits: t.Uint()}
	case codec.MsgpackFloat:
		return scalar{kind: t.Kind, bits: math.Float64bits(t.Float())}
	case codec.MsgpackBool:
		if t.Bool() {
			return scalar{kind: t.Kind, bits: 1}
		}
		return scalar{kind: t.Kind}
	case codec.MsgpackNil:
		return scalar{kind: t.Kind}
	}
	return scalar{kind: codec.MsgpackArray}
}

// mayEqualAny reports whether x may equal one of seen as JSON values: numbers of
// different kinds are compared as float64, which may say equal where they differ (the
// tape then decides).
func mayEqualAny(data []byte, seen []scalar, x scalar) bool {
	for _, y := range seen {
		switch {
		case x.kind == codec.MsgpackStr || y.kind == codec.MsgpackStr:
			if x.kind == y.kind && x.n == y.n && bytes.Equal(data[x.off:x.off+x.n], data[y.off:y.off+y.n]) {
				return true
			}
		case isNumKind(x.kind) && isNumKind(y.kind):
			if x.kind == y.kind && x.bits == y.bits || floatOf(x) == floatOf(y) {
				return true
			}
		case x.kind == y.kind && x.bits == y.bits:
			return true
		}
	}
	return false
}

func isNumKind(k codec.MsgpackKind) bool {
	return k == codec.MsgpackInt || k == codec.MsgpackUint || k == codec.MsgpackFloat
}

func floatOf(x scalar) float64 {
	switch x.kind {
	case codec.MsgpackInt:
		return float64(int64(x.bits))
	case codec.MsgpackUint:
		return float64(x.bits)
	}
	return math.Float64frombits(x.bits)
}
