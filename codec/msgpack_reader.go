package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// MsgpackReader reads one msgpack message token by token, without allocating, and holds
// the rules by which the package reads msgpack as a JSON value: every declared length
// (str, bin, ext, array, map) fits in the bytes that remain, counting one byte for every
// value still pending at every level; arrays and maps nest at most maxDepth deep; integers
// are int64, or uint64 above MaxInt64; float32 and float64 are numbers, neither NaN nor
// infinite; the only extension is the timestamp (type -1, 4, 8 or 12 bytes, nanoseconds
// below 1e9, a year from 0 to 9999 in UTC); map keys are strings or integers; nothing
// follows the value. UnmarshalValue decodes by these rules, and schema's encoded-message
// validator reads by them, so both accept the same messages.
//
// A reader is used by one goroutine at a time. Reset prepares it for a message; then each
// call of Next returns the next value's token in document order: a scalar, or the header
// of an array (followed by its Len items) or a map (followed by its Len entries, each a
// key token and a value). End reports whether the message ended where its value did.
// Once Next has failed, the reader is done with that message.
type MsgpackReader struct {
	data     []byte
	pos      int
	maxDepth int
	loose    bool   // the rules of Unmarshal's pre-scan only: see checkMsgpack
	need     uint64 // values still to read at the current level (mapLevel: it is a map)
	pending  uint64 // values still to read at all levels
	depth    int    // containers open
	stack    [64]uint64
	deep     []uint64 // the levels beyond len(stack)
}

// mapLevel marks a level of MsgpackReader.need that is a map: it holds 2 values per entry,
// and an even count left means a key comes next.
const mapLevel = 1 << 63

// MsgpackKind is the kind of a MsgpackToken.
type MsgpackKind uint8

// The kinds of tokens.
const (
	MsgpackNil   MsgpackKind = iota
	MsgpackBool              // MsgpackToken.Bool
	MsgpackInt               // any integer that fits an int64: MsgpackToken.Int
	MsgpackUint              // an integer above MaxInt64: MsgpackToken.Uint
	MsgpackFloat             // float32 or float64: MsgpackToken.Float
	MsgpackStr               // the bytes are data[Off:Off+Len]
	MsgpackBin               // the bytes are data[Off:Off+Len]; JSON reads them as standard base64
	MsgpackTime              // the timestamp extension: MsgpackToken.Time
	MsgpackArray             // Len items follow
	MsgpackMap               // Len entries follow, each a key and a value
	msgpackExt               // another extension (Unmarshal's pre-scan only)
)

func (k MsgpackKind) String() string {
	switch k {
	case MsgpackNil:
		return "nil"
	case MsgpackBool:
		return "bool"
	case MsgpackInt:
		return "int"
	case MsgpackUint:
		return "uint"
	case MsgpackFloat:
		return "float"
	case MsgpackStr:
		return "str"
	case MsgpackBin:
		return "bin"
	case MsgpackTime:
		return "timestamp"
	case MsgpackArray:
		return "array"
	case MsgpackMap:
		return "map"
	case msgpackExt:
		return "ext"
	}
	return "unknown"
}

// MsgpackToken is one value of a message, as MsgpackReader.Next returns it.
type MsgpackToken struct {
	Kind MsgpackKind
	// Key: the token is the key of a map entry (MsgpackStr, MsgpackInt or MsgpackUint).
	Key  bool
	nsec uint32 // MsgpackTime
	// Off and Len: for MsgpackStr and MsgpackBin, where the bytes are in the message; for
	// MsgpackArray and MsgpackMap, Len is the number of items or entries.
	Off, Len int
	bits     uint64 // MsgpackBool, MsgpackInt, MsgpackUint, MsgpackFloat; MsgpackTime: seconds
}

// Bool is the value of a MsgpackBool.
func (t *MsgpackToken) Bool() bool { return t.bits != 0 }

// Int is the value of a MsgpackInt.
func (t *MsgpackToken) Int() int64 { return int64(t.bits) }

// Uint is the value of a MsgpackUint.
func (t *MsgpackToken) Uint() uint64 { return t.bits }

// Float is the value of a MsgpackFloat.
func (t *MsgpackToken) Float() float64 { return math.Float64frombits(t.bits) }

// Time is the value of a MsgpackTime, in UTC. Its JSON form is
// Time().Format(time.RFC3339Nano), as encoding/json writes a UTC time.Time.
func (t *MsgpackToken) Time() time.Time { return time.Unix(int64(t.bits), int64(t.nsec)).UTC() }

// Reset prepares r to read data, with arrays and maps nested at most maxDepth deep.
func (r *MsgpackReader) Reset(data []byte, maxDepth int) {
	r.reset(data, maxDepth, false)
}

func (r *MsgpackReader) reset(data []byte, maxDepth int, loose bool) {
	r.data, r.pos, r.maxDepth, r.loose = data, 0, maxDepth, loose
	r.need, r.pending, r.depth = 1, 1, 0
	r.deep = r.deep[:0]
}

// More reports whether the message has values left to read.
func (r *MsgpackReader) More() bool { return r.need&^mapLevel != 0 }

// End returns nil if the whole message has been read: no value left and no byte after it.
func (r *MsgpackReader) End() error {
	if r.More() {
		return fmt.Errorf("%w: msgpack: %d more values expected at offset %d", ErrCorrupt, r.pending, r.pos)
	}
	if r.pos != len(r.data) {
		return fmt.Errorf("%w: msgpack: %d trailing bytes after the value at offset %d", ErrCorrupt, len(r.data)-r.pos, r.pos)
	}
	return nil
}

// Next reads the next token. After an error, the reader is done with the message.
func (r *MsgpackReader) Next() (MsgpackToken, error) {
	var t MsgpackToken
	cur := r.need
	pos := r.pos
	if cur&^mapLevel == 0 || pos >= len(r.data) {
		return t, r.missing()
	}
	t.Key = cur&mapLevel != 0 && cur&1 == 0
	r.need = cur - 1
	r.pending--
	// Fast paths for the commonest one-byte headers.
	switch c := r.data[pos]; {
	case c <= 0x7f:
		t.Kind, t.bits = MsgpackInt, uint64(c)
		r.pos++
	case c >= 0xe0:
		t.Kind, t.bits = MsgpackInt, uint64(int64(int8(c)))
		r.pos++
	case c >= 0xa0 && c <= 0xbf:
		n := int(c & 0x1f)
		if n > len(r.data)-pos-1 {
			return t, lengthError("str length", uint64(n), pos, len(r.data)-pos-1)
		}
		t.Kind, t.Off, t.Len = MsgpackStr, pos+1, n
		r.pos = pos + 1 + n
	default:
		if err := r.header(&t); err != nil {
			return t, err
		}
		if t.Kind >= MsgpackArray && t.Kind <= MsgpackMap && t.Len > 0 {
			return t, nil // the first item or entry is next
		}
	}
	for r.need&^mapLevel == 0 && r.depth > 0 {
		r.pop()
	}
	return t, nil
}

func (r *MsgpackReader) missing() error {
	switch {
	case len(r.data) == 0:
		return fmt.Errorf("%w: msgpack: empty input", ErrCorrupt)
	case !r.More():
		return fmt.Errorf("%w: msgpack: no value left at offset %d", ErrCorrupt, r.pos)
	}
	return fmt.Errorf("%w: msgpack: truncated: %d more values expected at offset %d", ErrCorrupt, r.pending, r.pos)
}

func (r *MsgpackReader) push() {
	if r.depth < len(r.stack) {
		r.stack[r.depth] = r.need
	} else {
		r.deep = append(r.deep, r.need)
	}
	r.depth++
}

func (r *MsgpackReader) pop() {
	r.depth--
	if r.depth < len(r.stack) {
		r.need = r.stack[r.depth]
	} else {
		r.need = r.deep[len(r.deep)-1]
		r.deep = r.deep[:len(r.deep)-1]
	}
}

// header reads a value whose header is not one of Next's fast paths into t.
func (r *MsgpackReader) header(t *MsgpackToken) error {
	start := r.pos
	k, hdr, n, err := msgpackHeader(r.data, start)
	if err != nil {
		return err
	}
	if t.Key && !r.loose && k != mpStr && k != mpUint && k != mpInt && k != mpPosFix && k != mpNegFix {
		return fmt.Errorf("%w: msgpack: map key of type %s at offset %d: only string and integer keys map to JSON", ErrCorrupt, k, start)
	}
	c := r.data[start]
	b := r.data[start+1:]
	pos := start + hdr
	rest := uint64(len(r.data) - pos)
	r.pos = pos
	switch k {
	case mpNil:
		t.Kind = MsgpackNil
	case mpBool:
		t.Kind = MsgpackBool
		if c == 0xc3 {
			t.bits = 1
		}
	case mpUint:
		t.Kind, t.bits = MsgpackInt, readUint(b, hdr-1)
		if t.bits > math.MaxInt64 {
			t.Kind = MsgpackUint
		}
	case mpInt:
		t.Kind, t.bits = MsgpackInt, uint64(readInt(b, hdr-1))
	case mpFloat32, mpFloat64:
		var f float64
		if k == mpFloat32 {
			f = float64(math.Float32frombits(binary.BigEndian.Uint32(b)))
		} else {
			f = math.Float64frombits(binary.BigEndian.Uint64(b))
		}
		if !r.loose && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return fmt.Errorf("%w: msgpack: float %v at offset %d has no JSON form", ErrCorrupt, f, start)
		}
		t.Kind, t.bits = MsgpackFloat, math.Float64bits(f)
	case mpStr, mpBin, mpExt:
		if n > rest {
			return lengthError(k.String()+" length", n, start, int(rest))
		}
		t.Kind, t.Off, t.Len = MsgpackStr, pos, int(n)
		r.pos = pos + int(n)
		switch {
		case k == mpBin:
			t.Kind = MsgpackBin
		case k != mpExt:
		case r.loose:
			t.Kind = msgpackExt
		default:
			return r.timestamp(t, start)
		}
	case mpArray, mpMap:
		if r.depth >= r.maxDepth {
			return depthError(start, r.maxDepth)
		}
		count := n
		if k == mpMap {
			count = 2 * n
		}
		if count+r.pending > rest {
			return lengthError(k.String()+" length", n, start, int(rest))
		}
		t.Kind, t.Len = MsgpackArray, int(n)
		if k == mpMap {
			t.Kind = MsgpackMap
		}
		r.push()
		r.need = count
		if k == mpMap {
			r.need |= mapLevel
		}
		r.pending += count
	}
	return nil
}

// timestamp checks the extension whose header starts at start and whose data t points to:
// only the timestamp (-1) maps to JSON, as an RFC 3339 string.
func (r *MsgpackReader) timestamp(t *MsgpackToken, start int) error {
	if typ := int8(r.data[t.Off-1]); typ != -1 { // the last byte of every ext header
		return fmt.Errorf("%w: msgpack: extension type %d at offset %d has no JSON form", ErrCorrupt, typ, start)
	}
	p := r.data[t.Off : t.Off+t.Len]
	var sec int64
	var nsec uint32
	switch len(p) {
	case 4:
		sec = int64(binary.BigEndian.Uint32(p))
	case 8:
		v := binary.BigEndian.Uint64(p)
		sec, nsec = int64(v&(1<<34-1)), uint32(v>>34)
	case 12:
		sec, nsec = int64(binary.BigEndian.Uint64(p[4:])), binary.BigEndian.Uint32(p)
	default:
		return fmt.Errorf("%w: msgpack: timestamp at offset %d has %d bytes (want 4, 8 or 12)", ErrCorrupt, start, len(p))
	}
	if nsec > 999999999 {
		return fmt.Errorf("%w: msgpack: timestamp at offset %d has %d nanoseconds", ErrCorrupt, start, nsec)
	}
	t.Kind, t.Off, t.Len, t.bits, t.nsec = MsgpackTime, 0, 0, uint64(sec), nsec
	if y := t.Time().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("%w: msgpack: timestamp at offset %d: year %d is outside RFC 3339 (0-9999)", ErrCorrupt, start, y)
	}
	return nil
}
