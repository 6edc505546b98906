package codec

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"
)

// A msgpack header declares the length of what follows (str, bin, ext, array, map)
// before the bytes themselves; a decoder that trusts it allocates gigabytes for a few
// bytes of input. MsgpackReader (msgpack_reader.go) checks every declared length against
// the bytes that remain before anything is allocated; checkMsgpack and msgpackValue read
// with it.

// msgpackHeader decodes the header at data[pos]. It returns the kind of value, the size
// of the header, and n: the payload length for str/bin/ext (ext: data after the type byte),
// the element count for arrays and the entry count for maps. The header of an ext value
// ends with its type byte.
func msgpackHeader(data []byte, pos int) (k mpKind, hdr int, n uint64, err error) {
	c := data[pos]
	switch {
	case c <= 0x7f:
		return mpPosFix, 1, uint64(c), nil
	case c >= 0xe0:
		return mpNegFix, 1, 0, nil
	case c <= 0x8f:
		return mpMap, 1, uint64(c & 0x0f), nil
	case c <= 0x9f:
		return mpArray, 1, uint64(c & 0x0f), nil
	case c <= 0xbf:
		return mpStr, 1, uint64(c & 0x1f), nil
	}
	h := mpHeaders[c-0xc0]
	if h.hdr == 0 {
		return 0, 0, 0, fmt.Errorf("%w: msgpack: invalid type byte 0x%02x at offset %d", ErrCorrupt, c, pos)
	}
	if len(data)-pos < int(h.hdr) {
		return 0, 0, 0, fmt.Errorf("%w: msgpack: truncated header (0x%02x) at offset %d", ErrCorrupt, c, pos)
	}
	b := data[pos+1:]
	switch h.lenBytes {
	case 0:
		n = uint64(h.n)
	case 1:
		n = uint64(b[0])
	case 2:
		n = uint64(binary.BigEndian.Uint16(b))
	case 4:
		n = uint64(binary.BigEndian.Uint32(b))
	}
	return h.kind, int(h.hdr), n, nil
}

// mpHeader describes a type byte from 0xc0 to 0xdf: its kind, the size of its header
// (0: not a type byte), and its n (see msgpackHeader): read from the lenBytes bytes after
// the type byte, big-endian, or fixed.
type mpHeader struct {
	kind          mpKind
	hdr, lenBytes uint8
	n             uint8
}

var mpHeaders = [32]mpHeader{
	0xc0 - 0xc0: {kind: mpNil, hdr: 1},
	0xc2 - 0xc0: {kind: mpBool, hdr: 1},
	0xc3 - 0xc0: {kind: mpBool, hdr: 1},
	0xc4 - 0xc0: {kind: mpBin, hdr: 2, lenBytes: 1},
	0xc5 - 0xc0: {kind: mpBin, hdr: 3, lenBytes: 2},
	0xc6 - 0xc0: {kind: mpBin, hdr: 5, lenBytes: 4},
	0xc7 - 0xc0: {kind: mpExt, hdr: 3, lenBytes: 1}, // ext8: length, then type
	0xc8 - 0xc0: {kind: mpExt, hdr: 4, lenBytes: 2},
	0xc9 - 0xc0: {kind: mpExt, hdr: 6, lenBytes: 4},
	0xca - 0xc0: {kind: mpFloat32, hdr: 5},
	0xcb - 0xc0: {kind: mpFloat64, hdr: 9},
	0xcc - 0xc0: {kind: mpUint, hdr: 2},
	0xcd - 0xc0: {kind: mpUint, hdr: 3},
	0xce - 0xc0: {kind: mpUint, hdr: 5},
	0xcf - 0xc0: {kind: mpUint, hdr: 9},
	0xd0 - 0xc0: {kind: mpInt, hdr: 2},
	0xd1 - 0xc0: {kind: mpInt, hdr: 3},
	0xd2 - 0xc0: {kind: mpInt, hdr: 5},
	0xd3 - 0xc0: {kind: mpInt, hdr: 9},
	0xd4 - 0xc0: {kind: mpExt, hdr: 2, n: 1}, // fixext: type, then n bytes
	0xd5 - 0xc0: {kind: mpExt, hdr: 2, n: 2},
	0xd6 - 0xc0: {kind: mpExt, hdr: 2, n: 4},
	0xd7 - 0xc0: {kind: mpExt, hdr: 2, n: 8},
	0xd8 - 0xc0: {kind: mpExt, hdr: 2, n: 16},
	0xd9 - 0xc0: {kind: mpStr, hdr: 2, lenBytes: 1},
	0xda - 0xc0: {kind: mpStr, hdr: 3, lenBytes: 2},
	0xdb - 0xc0: {kind: mpStr, hdr: 5, lenBytes: 4},
	0xdc - 0xc0: {kind: mpArray, hdr: 3, lenBytes: 2},
	0xdd - 0xc0: {kind: mpArray, hdr: 5, lenBytes: 4},
	0xde - 0xc0: {kind: mpMap, hdr: 3, lenBytes: 2},
	0xdf - 0xc0: {kind: mpMap, hdr: 5, lenBytes: 4},
}

type mpKind uint8

const (
	mpNil mpKind = iota
	mpBool
	mpPosFix
	mpNegFix
	mpUint
	mpInt
	mpFloat32
	mpFloat64
	mpStr
	mpBin
	mpExt
	mpArray
	mpMap
)

func lengthError(what string, n uint64, pos, rest int) error {
	return fmt.Errorf("%w: msgpack: %s at offset %d declares %d, but only %d bytes remain", ErrTooLarge, what, pos, n, rest)
}

func depthError(pos, maxDepth int) error {
	return fmt.Errorf("%w: msgpack: nesting at offset %d is deeper than the limit of %d", ErrTooDeep, pos, maxDepth)
}

// checkMsgpack verifies, before the library decodes data into a Go value, that data holds
// exactly one msgpack value whose every declared length fits in the bytes that follow it
// and whose nesting is at most maxDepth: MsgpackReader's rules of structure, and its rule
// that the only extension is a valid timestamp. What a value means otherwise (NaN, key
// types) is left to the library and the target type. It allocates nothing for nesting up
// to 64.
func checkMsgpack(r *MsgpackReader, data []byte, maxDepth int) (mapLike bool, err error) {
	r.reset(data, maxDepth, true)
	if err := r.skip(); err != nil {
		return false, err
	}
	return r.mapLike > 0, r.End()
}

// widenTimestamps returns data, checked by checkMsgpack, with every timestamp whose data
// begins like a map16 or map32 header rewritten in the 12-byte form, whose data begins
// with the nanoseconds (below 0x3b9aca00): the same instant. The library reads an
// extension where it expects a map as the map its data begins with, and it sizes a
// map[string]any by the count that header declares before it reads a single entry: up to
// 2^32 for a few bytes of input. Valid timestamps begin so for some nanosecond values
// (about 1 in 120), so they cannot be refused.
func widenTimestamps(data []byte, maxDepth int) []byte {
	out := make([]byte, 0, len(data)+64)
	var r MsgpackReader
	r.reset(data, maxDepth, true)
	var t [1]MsgpackToken
	from := 0
	for r.More() {
		start := r.pos
		if n, err := r.Read(t[:]); n == 0 || err != nil {
			return data // not reached: checkMsgpack accepted data
		}
		if t[0].Kind != MsgpackTime {
			continue
		}
		if _, hdr, _, _ := msgpackHeader(data, start); data[start+hdr] != 0xde && data[start+hdr] != 0xdf {
			continue
		}
		out = append(out, data[from:start]...)
		out = append(out, 0xc7, 12, 0xff)
		out = binary.BigEndian.AppendUint32(out, uint32(t[0].Len))
		out = binary.BigEndian.AppendUint64(out, t[0].bits)
		from = r.pos
	}
	return append(out, data[from:]...)
}
func (k mpKind) String() string {
	switch k {
	case mpNil:
		return "nil"
	case mpBool:
		return "bool"
	case mpPosFix, mpNegFix, mpInt:
		return "int"
	case mpUint:
		return "uint"
	case mpFloat32:
		return "float32"
	case mpFloat64:
		return "float64"
	case mpStr:
		return "str"
	case mpBin:
		return "bin"
	case mpExt:
		return "ext"
	case mpArray:
		return "array"
	case mpMap:
		return "map"
	}
	return "unknown"
}

// msgpackValue decodes data into a JSON-ready value (see Serializer.UnmarshalValue) by
// MsgpackReader's rules.
func msgpackValue(data []byte, maxDepth int) (any, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: msgpack: empty input", ErrCorrupt)
	}
	// One copy of the input backs every string of the value (keys included): one
	// allocation instead of one per string, at the cost of keeping the message's bytes
	// alive as long as any of its strings.
	w := mpWalker{data: data, str: string(data)}
	w.r.Reset(data, maxDepth)
	v, err := w.value()
	if err != nil {
		return nil, err
	}
	if err := w.r.End(); err != nil {
		return nil, err
	}
	return v, nil
}

type mpWalker struct {
	data []byte
	str  string // string(data)
	r    MsgpackReader
	toks [32]MsgpackToken // read ahead: toks[i:n] are next, then err
	i, n int
	err  error
}

// next returns the next token.
func (w *mpWalker) next() (*MsgpackToken, error) {
	if w.i == w.n {
		if w.err != nil {
			return nil, w.err
		}
		w.i, w.n = 0, 0
		w.n, w.err = w.r.Read(w.toks[:])
		if w.n == 0 {
			if w.err == nil {
				w.err = w.r.missing()
			}
			return nil, w.err
		}
	}
	w.i++
	return &w.toks[w.i-1], nil
}

// mapHintMax caps the size hint of a new map: a declared count that fits the input can
// still ask for far more memory than the entries it turns out to hold (duplicate keys).
const mapHintMax = 1024

func (w *mpWalker) value() (any, error) {
	t, err := w.next()
	if err != nil {
		return nil, err
	}
	return w.build(t)
}

// build returns the value of t, reading the items or entries that follow it.
func (w *mpWalker) build(t *MsgpackToken) (any, error) {
	switch t.Kind {
	case MsgpackNil:
		return nil, nil
	case MsgpackBool:
		return t.Bool(), nil
	case MsgpackInt:
		return t.Int(), nil
	case MsgpackUint:
		return t.Uint(), nil
	case MsgpackFloat:
		return t.Float(), nil
	case MsgpackStr:
		return w.str[t.Off : t.Off+t.Len], nil
	case MsgpackBin:
		return base64.StdEncoding.EncodeToString(w.data[t.Off : t.Off+t.Len]), nil
	case MsgpackTime:
		return t.Time().Format(time.RFC3339Nano), nil
	case MsgpackArray:
		a := make([]any, t.Len)
		var err error
		for i := range a {
			if a[i], err = w.value(); err != nil {
				return nil, err
			}
		}
		return a, nil
	case MsgpackMap:
		m := make(map[string]any, min(t.Len, mapHintMax))
		for range t.Len {
			e, err := w.next()
			if err != nil {
				return nil, err
			}
			// A key is a string, or an integer turned into its decimal form as
			// encoding/json does for map[int]T.
			var key string
			switch e.Key {
			case MsgpackStr:
				key = w.str[e.KeyOff : e.KeyOff+e.KeyLen]
			case MsgpackInt:
				key = strconv.FormatInt(e.KeyInt(), 10)
			default:
				key = strconv.FormatUint(e.KeyUint(), 10)
			}
			if m[key], err = w.build(e); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	return nil, fmt.Errorf("%w: msgpack: %s at offset %d has no JSON form", ErrCorrupt, t.Kind, t.Off)
}

func readUint(b []byte, size int) uint64 {
	switch size {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.BigEndian.Uint16(b))
	case 4:
		return uint64(binary.BigEndian.Uint32(b))
	}
	return binary.BigEndian.Uint64(b)
}

func readInt(b []byte, size int) int64 {
	switch size {
	case 1:
		return int64(int8(b[0]))
	case 2:
		return int64(int16(binary.BigEndian.Uint16(b)))
	case 4:
		return int64(int32(binary.BigEndian.Uint32(b)))
	}
	return int64(binary.BigEndian.Uint64(b))
}
