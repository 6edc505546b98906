package codec

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
// bytes of input. checkMsgpack and msgpackValue check every declared length against the
// bytes that remain before anything is allocated.

// msgpackHeader decodes the header at data[pos]. It returns the kind of value, the size
// of the header, and n: the payload length for str/bin/ext (ext: data after the type byte),
// the element count for arrays and the entry count for maps. The header of an ext value
// ends with its type byte.
func msgpackHeader(data []byte, pos int) (k mpKind, hdr int, n uint64, err error) {
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
	b := data[pos+1:]
	switch c {
	case 0xc0:
		return mpNil, 1, 0, nil
	case 0xc2, 0xc3:
		return mpBool, 1, 0, nil
	case 0xc4, 0xd9: // bin8, str8
		if err := need(1); err != nil {
			return 0, 0, 0, err
		}
		return kindOf(c), 2, uint64(b[0]), nil
	case 0xc5, 0xda: // bin16, str16
		if err := need(2); err != nil {
			return 0, 0, 0, err
		}
		return kindOf(c), 3, uint64(binary.BigEndian.Uint16(b)), nil
	case 0xc6, 0xdb: // bin32, str32
		if err := need(4); err != nil {
			return 0, 0, 0, err
		}
		return kindOf(c), 5, uint64(binary.BigEndian.Uint32(b)), nil
	case 0xc7: // ext8
		if err := need(2); err != nil {
			return 0, 0, 0, err
		}
		return mpExt, 3, uint64(b[0]), nil
	case 0xc8: // ext16
		if err := need(3); err != nil {
			return 0, 0, 0, err
		}
		return mpExt, 4, uint64(binary.BigEndian.Uint16(b)), nil
	case 0xc9: // ext32
		if err := need(5); err != nil {
			return 0, 0, 0, err
		}
		return mpExt, 6, uint64(binary.BigEndian.Uint32(b)), nil
	case 0xca:
		return mpFloat32, 5, 0, need(4)
	case 0xcb:
		return mpFloat64, 9, 0, need(8)
	case 0xcc, 0xd0:
		return kindOf(c), 2, 0, need(1)
	case 0xcd, 0xd1:
		return kindOf(c), 3, 0, need(2)
	case 0xce, 0xd2:
		return kindOf(c), 5, 0, need(4)
	case 0xcf, 0xd3:
		return kindOf(c), 9, 0, need(8)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16
		if err := need(1); err != nil {
			return 0, 0, 0, err
		}
		return mpExt, 2, 1 << (c - 0xd4), nil
	case 0xdc: // array16
		if err := need(2); err != nil {
			return 0, 0, 0, err
		}
		return mpArray, 3, uint64(binary.BigEndian.Uint16(b)), nil
	case 0xdd: // array32
		if err := need(4); err != nil {
			return 0, 0, 0, err
		}
		return mpArray, 5, uint64(binary.BigEndian.Uint32(b)), nil
	case 0xde: // map16
		if err := need(2); err != nil {
			return 0, 0, 0, err
		}
		return mpMap, 3, uint64(binary.BigEndian.Uint16(b)), nil
	case 0xdf: // map32
		if err := need(4); err != nil {
			return 0, 0, 0, err
		}
		return mpMap, 5, uint64(binary.BigEndian.Uint32(b)), nil
	}
	return 0, 0, 0, fmt.Errorf("%w: msgpack: invalid type byte 0xc1 at offset %d", ErrCorrupt, pos)
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

func kindOf(c byte) mpKind {
	switch c {
	case 0xc4, 0xc5, 0xc6:
		return mpBin
	case 0xd9, 0xda, 0xdb:
		return mpStr
	case 0xcc, 0xcd, 0xce, 0xcf:
		return mpUint
	}
	return mpInt // 0xd0-0xd3
}

// hasPayload reports whether a value of kind k carries n bytes after its header.
func hasPayload(k mpKind) bool { return k == mpStr || k == mpBin || k == mpExt }

func lengthError(what string, n uint64, pos, rest int) error {
	return fmt.Errorf("%w: msgpack: %s at offset %d declares %d, but only %d bytes remain", ErrTooLarge, what, pos, n, rest)
}

func depthError(pos, maxDepth int) error {
	return fmt.Errorf("%w: msgpack: nesting at offset %d is deeper than the limit of %d", ErrTooDeep, pos, maxDepth)
}

// checkMsgpack verifies that data holds exactly one msgpack value whose every declared
// length fits in the bytes that follow it (each pending array element takes at least one
// byte, each map entry two) and whose nesting is at most maxDepth. It allocates nothing
// for nesting up to 64.
func checkMsgpack(data []byte, maxDepth int) error {
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
				return lengthError("str length", uint64(n), pos, len(data)-pos-1)
			}
			pos += 1 + n
			continue
		}
		k, hdr, n, err := msgpackHeader(data, pos)
		if err != nil {
			return err
		}
		start := pos
		pos += hdr
		rest := uint64(len(data) - pos)
		switch {
		case hasPayload(k):
			if n > rest {
				return lengthError(k.String()+" length", n, start, int(rest))
			}
			pos += int(n)
		case k == mpArray || k == mpMap:
			if len(stack) >= maxDepth {
				return depthError(start, maxDepth)
			}
			count := n
			if k == mpMap {
				count = 2 * n
			}
			if count+pending > rest {
				return lengthError(k.String()+" length", n, start, int(rest))
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

// msgpackValue decodes data into a JSON-ready value (see Serializer.UnmarshalValue),
// checking lengths and depth as it goes.
func msgpackValue(data []byte, maxDepth int) (any, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: msgpack: empty input", ErrCorrupt)
	}
	// One copy of the input backs every string of the value (keys included): one
	// allocation instead of one per string, at the cost of keeping the message's bytes
	// alive as long as any of its strings.
	w := mpWalker{data: data, str: string(data), maxDepth: maxDepth}
	v, err := w.value(0)
	if err != nil {
		return nil, err
	}
	if w.pos != len(data) {
		return nil, fmt.Errorf("%w: msgpack: %d trailing bytes after the value at offset %d", ErrCorrupt, len(data)-w.pos, w.pos)
	}
	return v, nil
}

type mpWalker struct {
	data     []byte
	str      string // string(data)
	pos      int
	maxDepth int
}

// mapHintMax caps the size hint of a new map: a declared count that fits the input can
// still ask for far more memory than the entries it turns out to hold (duplicate keys).
const mapHintMax = 1024

func (w *mpWalker) value(depth int) (any, error) {
	if w.pos >= len(w.data) {
		return nil, fmt.Errorf("%w: msgpack: truncated at offset %d", ErrCorrupt, w.pos)
	}
	start := w.pos
	k, hdr, n, err := msgpackHeader(w.data, start)
	if err != nil {
		return nil, err
	}
	c := w.data[start]
	b := w.data[start+1:]
	w.pos += hdr
	rest := uint64(len(w.data) - w.pos)
	switch k {
	case mpNil:
		return nil, nil
	case mpBool:
		return c == 0xc3, nil
	case mpPosFix:
		return int64(c), nil
	case mpNegFix:
		return int64(int8(c)), nil
	case mpUint:
		u := readUint(b, hdr-1)
		if u <= math.MaxInt64 {
			return int64(u), nil
		}
		return u, nil
	case mpInt:
		return readInt(b, hdr-1), nil
	case mpFloat32:
		return checkFloat(float64(math.Float32frombits(binary.BigEndian.Uint32(b))), start)
	case mpFloat64:
		return checkFloat(math.Float64frombits(binary.BigEndian.Uint64(b)), start)
	case mpStr, mpBin:
		if n > rest {
			return nil, lengthError(k.String()+" length", n, start, int(rest))
		}
		from, to := w.pos, w.pos+int(n)
		w.pos = to
		if k == mpBin {
			return base64.StdEncoding.EncodeToString(w.data[from:to]), nil
		}
		return w.str[from:to], nil
	case mpExt:
		return w.ext(start, n, rest)
	case mpArray:
		if depth >= w.maxDepth {
			return nil, depthError(start, w.maxDepth)
		}
		if n > rest {
			return nil, lengthError("array length", n, start, int(rest))
		}
		a := make([]any, n)
		for i := range a {
			if a[i], err = w.value(depth + 1); err != nil {
				return nil, err
			}
		}
		return a, nil
	case mpMap:
		if depth >= w.maxDepth {
			return nil, depthError(start, w.maxDepth)
		}
		if 2*n > rest {
			return nil, lengthError("map length", n, start, int(rest))
		}
		m := make(map[string]any, min(n, mapHintMax))
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
func (w *mpWalker) key() (string, error) {
	if w.pos >= len(w.data) {
		return "", fmt.Errorf("%w: msgpack: truncated at offset %d", ErrCorrupt, w.pos)
	}
	start := w.pos
	k, _, _, err := msgpackHeader(w.data, start)
	if err != nil {
		return "", err
	}
	switch k {
	case mpStr, mpPosFix, mpNegFix, mpInt, mpUint:
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
func (w *mpWalker) ext(start int, n, rest uint64) (any, error) {
	typ := int8(w.data[w.pos-1]) // the last byte of every ext header
	if n > rest {
		return nil, lengthError("ext length", n, start, int(rest))
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

func checkFloat(f float64, pos int) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%w: msgpack: float %v at offset %d has no JSON form", ErrCorrupt, f, pos)
	}
	return f, nil
}
