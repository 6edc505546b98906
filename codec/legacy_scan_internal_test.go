package codec

// The msgpack scanners as they were before MsgpackReader, kept to compare the two.

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"time"
)

// A msgpack header declares the length of what follows (str, bin, ext, array, map)
// before the bytes themselves; a decoder that trusts it allocates gigabytes for a few
// bytes of input. old_checkMsgpack and old_msgpackValue check every declared length against the
// bytes that remain before anything is allocated.

// old_msgpackHeader decodes the header at data[pos]. It returns the kind of value, the size
// of the header, and n: the payload length for str/bin/ext (ext: data after the type byte),
// the element count for arrays and the entry count for maps. The header of an ext value
// ends with its type byte.
func old_msgpackHeader(data []byte, pos int) (k old_mpKind, hdr int, n uint64, err error) {
	c := data[pos]
	rest := len(data) - pos - 1
	need := func(size int) error {
		if rest < size {
			return fmt.Errorf("%w: msgpack: truncated header (0x%02x) at offset %d", ErrCorrupt, c, pos)
		}
		return nil
	}
	switch {
	case c <= 0x7f:
		return old_mpPosFix, 1, uint64(c), nil
	case c >= 0xe0:
		return old_mpNegFix, 1, 0, nil
	case c <= 0x8f:
		return old_mpMap, 1, uint64(c & 0x0f), nil
	case c <= 0x9f:
		return old_mpArray, 1, uint64(c & 0x0f), nil
	case c <= 0xbf:
		return old_mpStr, 1, uint64(c & 0x1f), nil
	}
	b := data[pos+1:]
	switch c {
	case 0xc0:
		return old_mpNil, 1, 0, nil
	case 0xc2, 0xc3:
		return old_mpBool, 1, 0, nil
	case 0xc4, 0xd9: // bin8, str8
		if err := need(1); err != nil {
			return 0, 0, 0, err
		}
		return old_kindOf(c), 2, uint64(b[0]), nil
	case 0xc5, 0xda: // bin16, str16
		if err := need(2); err != nil {
			return 0, 0, 0, err
		}
		return old_kindOf(c), 3, uint64(binary.BigEndian.Uint16(b)), nil
	case 0xc6, 0xdb: // bin32, str32
		if err := need(4); err != nil {
			return 0, 0, 0, err
		}
		return old_kindOf(c), 5, uint64(binary.BigEndian.Uint32(b)), nil
	case 0xc7: // ext8
		if err := need(2); err != nil {
			return 0, 0, 0, err
		}
		return old_mpExt, 3, uint64(b[0]), nil
	case 0xc8: // ext16
		if err := need(3); err != nil {
			return 0, 0, 0, err
		}
		return old_mpExt, 4, uint64(binary.BigEndian.Uint16(b)), nil
	case 0xc9: // ext32
		if err := need(5); err != nil {
			return 0, 0, 0, err
		}
		return old_mpExt, 6, uint64(binary.BigEndian.Uint32(b)), nil
	case 0xca:
		return old_mpFloat32, 5, 0, need(4)
	case 0xcb:
		return old_mpFloat64, 9, 0, need(8)
	case 0xcc, 0xd0:
		return old_kindOf(c), 2, 0, need(1)
	case 0xcd, 0xd1:
		return old_kindOf(c), 3, 0, need(2)
	case 0xce, 0xd2:
		return old_kindOf(c), 5, 0, need(4)
	case 0xcf, 0xd3:
		return old_kindOf(c), 9, 0, need(8)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16
		if err := need(1); err != nil {
			return 0, 0, 0, err
		}
		return old_mpExt, 2, 1 << (c - 0xd4), nil
	case 0xdc: // array16
		if err := need(2); err != nil {
			return 0, 0, 0, err
		}
		return old_mpArray, 3, uint64(binary.BigEndian.Uint16(b)), nil
	case 0xdd: // array32
		if err := need(4); err != nil {
			return 0, 0, 0, err
		}
		return old_mpArray, 5, uint64(binary.BigEndian.Uint32(b)), nil
	case 0xde: // map16
		if err := need(2); err != nil {
			return 0, 0, 0, err
		}
		return old_mpMap, 3, uint64(binary.BigEndian.Uint16(b)), nil
	case 0xdf: // map32
		if err := need(4); err != nil {
			return 0, 0, 0, err
		}
		return old_mpMap, 5, uint64(binary.BigEndian.Uint32(b)), nil
	}
	return 0, 0, 0, fmt.Errorf("%w: msgpack: invalid type byte 0xc1 at offset %d", ErrCorrupt, pos)
}

type old_mpKind uint8

const (
	old_mpNil old_mpKind = iota
	old_mpBool
	old_mpPosFix
	old_mpNegFix
	old_mpUint
	old_mpInt
	old_mpFloat32
	old_mpFloat64
	old_mpStr
	old_mpBin
	old_mpExt
	old_mpArray
	old_mpMap
)

func old_kindOf(c byte) old_mpKind {
	switch c {
	case 0xc4, 0xc5, 0xc6:
		return old_mpBin
	case 0xd9, 0xda, 0xdb:
		return old_mpStr
	case 0xcc, 0xcd, 0xce, 0xcf:
		return old_mpUint
	}
	return old_mpInt // 0xd0-0xd3
}

// old_hasPayload reports whether a value of kind k carries n bytes after its header.
func old_hasPayload(k old_mpKind) bool { return k == old_mpStr || k == old_mpBin || k == old_mpExt }

func old_lengthError(what string, n uint64, pos, rest int) error {
	return fmt.Errorf("%w: msgpack: %s at offset %d declares %d, but only %d bytes remain", ErrTooLarge, what, pos, n, rest)
}

func old_depthError(pos, maxDepth int) error {
	return fmt.Errorf("%w: msgpack: nesting at offset %d is deeper than the limit of %d", ErrTooDeep, pos, maxDepth)
}

// old_checkMsgpack verifies that data holds exactly one msgpack value whose every declared
// length fits in the bytes that follow it (each pending array element takes at least one
// byte, each map entry two) and whose nesting is at most maxDepth. It allocates nothing
// for nesting up to 64.
func old_checkMsgpack(data []byte, maxDepth int) error {
	if len(data) == 0 {
		return fmt.Errorf("%w: msgpack: empty input", ErrCorrupt)
	}
	var stackArr [64]uint64
	stack := stackArr[:0]
	need := uint64(1)    // values still to read at the current level
	pending := uint64(1) // values still to read at all levels
	pos := 0
	for {
		for need == 0 && len(stack) > 0 {
			need = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
		}
		if need == 0 {
			break
		}
		if pos >= len(data) {
			return fmt.Errorf("%w: msgpack: truncated: %d more values expected at offset %d", ErrCorrupt, pending, pos)
		}
		need--
		pending--
		// Fast paths for the commonest one-byte headers.
		switch c := data[pos]; {
		case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
			pos++
			continue
		case c >= 0xa0 && c <= 0xbf:
			n := int(c & 0x1f)
			if n > len(data)-pos-1 {
				return old_lengthError("str length", uint64(n), pos, len(data)-pos-1)
			}
			pos += 1 + n
			continue
		}
		k, hdr, n, err := old_msgpackHeader(data, pos)
		if err != nil {
			return err
		}
		start := pos
		pos += hdr
		rest := uint64(len(data) - pos)
		switch {
		case old_hasPayload(k):
			if n > rest {
				return old_lengthError(k.String()+" length", n, start, int(rest))
			}
			pos += int(n)
		case k == old_mpArray || k == old_mpMap:
			if len(stack) >= maxDepth {
				return old_depthError(start, maxDepth)
			}
			count := n
			if k == old_mpMap {
				count = 2 * n
			}
			if count+pending > rest {
				return old_lengthError(k.String()+" length", n, start, int(rest))
			}
			stack = append(stack, need)
			need = count
			pending += count
		}
		if pos > len(data) {
			return fmt.Errorf("%w: msgpack: truncated value at offset %d", ErrCorrupt, start)
		}
	}
	if pos != len(data) {
		return fmt.Errorf("%w: msgpack: %d trailing bytes after the value at offset %d", ErrCorrupt, len(data)-pos, pos)
	}
	return nil
}

func (k old_mpKind) String() string {
	switch k {
	case old_mpNil:
		return "nil"
	case old_mpBool:
		return "bool"
	case old_mpPosFix, old_mpNegFix, old_mpInt:
		return "int"
	case old_mpUint:
		return "uint"
	case old_mpFloat32:
		return "float32"
	case old_mpFloat64:
		return "float64"
	case old_mpStr:
		return "str"
	case old_mpBin:
		return "bin"
	case old_mpExt:
		return "ext"
	case old_mpArray:
		return "array"
	case old_mpMap:
		return "map"
	}
	return "unknown"
}

// old_msgpackValue decodes data into a JSON-ready value (see Serializer.UnmarshalValue),
// checking lengths and depth as it goes.
func old_msgpackValue(data []byte, maxDepth int) (any, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: msgpack: empty input", ErrCorrupt)
	}
	// One copy of the input backs every string of the value (keys included): one
	// allocation instead of one per string, at the cost of keeping the message's bytes
	// alive as long as any of its strings.
	w := old_mpWalker{data: data, str: string(data), maxDepth: maxDepth}
	v, err := w.value(0)
	if err != nil {
		return nil, err
	}
	if w.pos != len(data) {
		return nil, fmt.Errorf("%w: msgpack: %d trailing bytes after the value at offset %d", ErrCorrupt, len(data)-w.pos, w.pos)
	}
	return v, nil
}

type old_mpWalker struct {
	data     []byte
	str      string // string(data)
	pos      int
	maxDepth int
}

// old_mapHintMax caps the size hint of a new map: a declared count that fits the input can
// still ask for far more memory than the entries it turns out to hold (duplicate keys).
const old_mapHintMax = 1024

func (w *old_mpWalker) value(depth int) (any, error) {
	if w.pos >= len(w.data) {
		return nil, fmt.Errorf("%w: msgpack: truncated at offset %d", ErrCorrupt, w.pos)
	}
	start := w.pos
	k, hdr, n, err := old_msgpackHeader(w.data, start)
	if err != nil {
		return nil, err
	}
	c := w.data[start]
	b := w.data[start+1:]
	w.pos += hdr
	rest := uint64(len(w.data) - w.pos)
	switch k {
	case old_mpNil:
		return nil, nil
	case old_mpBool:
		return c == 0xc3, nil
	case old_mpPosFix:
		return int64(c), nil
	case old_mpNegFix:
		return int64(int8(c)), nil
	case old_mpUint:
		u := old_readUint(b, hdr-1)
		if u <= math.MaxInt64 {
			return int64(u), nil
		}
		return u, nil
	case old_mpInt:
		return old_readInt(b, hdr-1), nil
	case old_mpFloat32:
		return old_checkFloat(float64(math.Float32frombits(binary.BigEndian.Uint32(b))), start)
	case old_mpFloat64:
		return old_checkFloat(math.Float64frombits(binary.BigEndian.Uint64(b)), start)
	case old_mpStr, old_mpBin:
		if n > rest {
			return nil, old_lengthError(k.String()+" length", n, start, int(rest))
		}
		from, to := w.pos, w.pos+int(n)
		w.pos = to
		if k == old_mpBin {
			return base64.StdEncoding.EncodeToString(w.data[from:to]), nil
		}
		return w.str[from:to], nil
	case old_mpExt:
		return w.ext(start, n, rest)
	case old_mpArray:
		if depth >= w.maxDepth {
			return nil, old_depthError(start, w.maxDepth)
		}
		if n > rest {
			return nil, old_lengthError("array length", n, start, int(rest))
		}
		a := make([]any, n)
		for i := range a {
			if a[i], err = w.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return a, nil
	case old_mpMap:
		if depth >= w.maxDepth {
			return nil, old_depthError(start, w.maxDepth)
		}
		if 2*n > rest {
			return nil, old_lengthError("map length", n, start, int(rest))
		}
		m := make(map[string]any, min(n, old_mapHintMax))
		for range n {
			key, err := w.key()
			if err != nil {
				return nil, err
			}
			if m[key], err = w.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	return nil, fmt.Errorf("%w: msgpack: invalid value at offset %d", ErrCorrupt, start)
}

// key decodes a map key: a string, or an integer turned into its decimal form as
// encoding/json does for map[int]T.
func (w *old_mpWalker) key() (string, error) {
	if w.pos >= len(w.data) {
		return "", fmt.Errorf("%w: msgpack: truncated at offset %d", ErrCorrupt, w.pos)
	}
	start := w.pos
	k, _, _, err := old_msgpackHeader(w.data, start)
	if err != nil {
		return "", err
	}
	switch k {
	case old_mpStr, old_mpPosFix, old_mpNegFix, old_mpInt, old_mpUint:
	default:
		return "", fmt.Errorf("%w: msgpack: map key of type %s at offset %d: only string and integer keys map to JSON", ErrCorrupt, k, start)
	}
	v, err := w.value(0) // scalars only: depth does not matter
	if err != nil {
		return "", err
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	}
	return "", fmt.Errorf("%w: msgpack: map key at offset %d", ErrCorrupt, start)
}

// ext decodes an extension value whose header (ending with the type byte) starts at start
// and whose data is n bytes long. Only the timestamp extension (-1) maps to JSON: an
// RFC 3339 string with nanoseconds in UTC, as encoding/json writes a UTC time.Time.
func (w *old_mpWalker) ext(start int, n, rest uint64) (any, error) {
	typ := int8(w.data[w.pos-1]) // the last byte of every ext header
	if n > rest {
		return nil, old_lengthError("ext length", n, start, int(rest))
	}
	p := w.data[w.pos : w.pos+int(n)]
	w.pos += int(n)
	if typ != -1 {
		return nil, fmt.Errorf("%w: msgpack: extension type %d at offset %d has no JSON form", ErrCorrupt, typ, start)
	}
	var t time.Time
	switch len(p) {
	case 4:
		t = time.Unix(int64(binary.BigEndian.Uint32(p)), 0)
	case 8:
		v := binary.BigEndian.Uint64(p)
		nsec := int64(v >> 34)
		if nsec > 999999999 {
			return nil, fmt.Errorf("%w: msgpack: timestamp at offset %d has %d nanoseconds", ErrCorrupt, start, nsec)
		}
		t = time.Unix(int64(v&(1<<34-1)), nsec)
	case 12:
		nsec := int64(binary.BigEndian.Uint32(p))
		if nsec > 999999999 {
			return nil, fmt.Errorf("%w: msgpack: timestamp at offset %d has %d nanoseconds", ErrCorrupt, start, nsec)
		}
		t = time.Unix(int64(binary.BigEndian.Uint64(p[4:])), nsec)
	default:
		return nil, fmt.Errorf("%w: msgpack: timestamp at offset %d has %d bytes (want 4, 8 or 12)", ErrCorrupt, start, len(p))
	}
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("%w: msgpack: timestamp at offset %d: year %d is outside RFC 3339 (0-9999)", ErrCorrupt, start, y)
	}
	return t.Format(time.RFC3339Nano), nil
}

func old_readUint(b []byte, size int) uint64 {
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

func old_readInt(b []byte, size int) int64 {
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

func old_checkFloat(f float64, pos int) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%w: msgpack: float %v at offset %d has no JSON form", ErrCorrupt, f, pos)
	}
	return f, nil
}
