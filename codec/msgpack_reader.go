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
// A reader is used by one goroutine at a time. Reset prepares it for a message; then Read
// returns its values' tokens in document order, as many per call as the caller has room
// for: a scalar, or the header of an array (followed by its Len items) or of a map
// (followed by its Len values, each carrying its key). Each token says how many arrays and
// maps end with it. End reports whether the message ended where its value did. Once Read
// has failed, the reader is done with that message.
type MsgpackReader struct {
	data     []byte
	pos      int
	maxDepth int
	loose    bool   // the rules of Unmarshal's pre-scan: see checkMsgpack
	mapLike  int    // timestamps read whose data begins like a map16 or map32 header
	need     uint64 // values still to read at the current level (mapLevel: it is a map)
	outer    uint64 // values still to read at the levels around the current one
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
	}
	return "unknown"
}

// MsgpackToken is one value of a message, as MsgpackReader.Read returns it. The value of
// a map entry carries the entry's key.
type MsgpackToken struct {
	Kind MsgpackKind
	// Key is the kind of the key of the map entry whose value this is: MsgpackStr
	// (KeyOff, KeyLen), MsgpackInt (KeyInt) or MsgpackUint (KeyUint); MsgpackNil for an
	// item of an array and for the message's value.
	Key MsgpackKind
	// Ends is the number of arrays and maps that end with this token: those whose last
	// item or entry it is, and the token itself if it is an empty array or map.
	Ends uint32
	// Off and Len: for MsgpackStr and MsgpackBin, where the bytes are in the message; for
	// MsgpackArray and MsgpackMap, Len is the number of items or entries.
	Off, Len int
	bits     uint64 // MsgpackBool, MsgpackInt, MsgpackUint, MsgpackFloat; MsgpackTime: seconds (Len: nanoseconds)
	// KeyOff and KeyLen: where the bytes of a MsgpackStr key are in the message (unset
	// for other keys).
	KeyOff, KeyLen int
	keyBits        uint64 // a MsgpackInt or MsgpackUint key
}

// KeyInt is the key of a value whose Key is MsgpackInt.
func (t *MsgpackToken) KeyInt() int64 { return int64(t.keyBits) }

// KeyUint is the key of a value whose Key is MsgpackUint.
func (t *MsgpackToken) KeyUint() uint64 { return t.keyBits }

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
func (t *MsgpackToken) Time() time.Time { return time.Unix(int64(t.bits), int64(t.Len)).UTC() }

// Reset prepares r to read data, with arrays and maps nested at most maxDepth deep.
func (r *MsgpackReader) Reset(data []byte, maxDepth int) {
	r.reset(data, maxDepth, false)
}

func (r *MsgpackReader) reset(data []byte, maxDepth int, loose bool) {
	r.data, r.pos, r.maxDepth, r.loose = data, 0, maxDepth, loose
	r.need, r.outer, r.depth, r.mapLike = 1, 0, 0, 0
	r.deep = r.deep[:0]
}

// More reports whether the message has values left to read.
func (r *MsgpackReader) More() bool { return r.need&^mapLevel != 0 }

// End returns nil if the whole message has been read: no value left and no byte after it.
func (r *MsgpackReader) End() error {
	if r.More() {
		return fmt.Errorf("%w: msgpack: %d more values expected at offset %d", ErrCorrupt, r.pending(), r.pos)
	}
	if r.pos != len(r.data) {
		return fmt.Errorf("%w: msgpack: %d trailing bytes after the value at offset %d", ErrCorrupt, len(r.data)-r.pos, r.pos)
	}
	return nil
}

// Read reads the next tokens into toks, as many as fit or as the message has left, and
// returns how many it read. It reads fewer than len(toks) only at the end of the message
// or on an error, which it returns with the tokens read before it. After an error, the
// reader is done with the message. Reading many tokens per call is what makes it fast: the
// state of the reader stays in registers from one token to the next.
func (r *MsgpackReader) Read(toks []MsgpackToken) (int, error) {
	return r.read(toks, -1, len(toks))
}

// skip reads the rest of the message, tokens and all, as fast as Read reads tokens.
func (r *MsgpackReader) skip() error {
	var t [1]MsgpackToken
	_, err := r.read(t[:], 0, math.MaxInt)
	return err
}

// read reads at most max tokens, each into toks[i&mask].
func (r *MsgpackReader) read(toks []MsgpackToken, mask, max int) (int, error) {
	data := r.data
	pos, need := r.pos, r.need
	i := 0
	for ; i < max && need&^mapLevel != 0; i++ {
		if pos >= len(data) {
			r.pos, r.need = pos, need
			return i, r.missing()
		}
		// Fields are stored one by one, each read back alone: a token built elsewhere and
		// copied whole would be read as wider words than were stored, which stalls.
		t := &toks[i&mask]
		t.Key, t.Ends = MsgpackNil, 0
		key := need&mapLevel != 0 && need&1 == 0
		if key && !r.loose {
			// The key of a map entry: read it into t, then its value. (The pre-scan reads
			// keys of any kind, arrays and maps included, as values of their own.)
			need--
			if c := data[pos]; c >= 0xa0 && c <= 0xbf && int(c&0x1f) < len(data)-pos {
				t.Key, t.KeyOff, t.KeyLen = MsgpackStr, pos+1, int(c&0x1f)
				pos += 1 + int(c&0x1f)
			} else {
				r.pos, r.need = pos, need
				if err := r.key(t); err != nil {
					return i, err
				}
				pos = r.pos
			}
			if pos >= len(data) {
				r.pos, r.need = pos, need
				return i, r.missing()
			}
			key = false
		}
		need--
		// Fast paths for the commonest headers.
		switch c := data[pos]; {
		case c <= 0x7f:
			t.Kind, t.Off, t.Len, t.bits = MsgpackInt, 0, 0, uint64(c)
			pos++
		case c >= 0xa0 && c <= 0xbf && int(c&0x1f) < len(data)-pos: // a fixstr that fits
			t.Kind, t.Off, t.Len, t.bits = MsgpackStr, pos+1, int(c&0x1f), 0
			pos += 1 + int(c&0x1f)
		case c >= 0xe0:
			t.Kind, t.Off, t.Len, t.bits = MsgpackInt, 0, 0, uint64(int64(int8(c)))
			pos++
		case c == 0xcb && len(data)-pos > 8:
			b := binary.BigEndian.Uint64(data[pos+1:])
			if b>>52&0x7ff == 0x7ff && !r.loose { // NaN or ±Inf
				r.pos, r.need = pos, need
				return i, fmt.Errorf("%w: msgpack: float %v at offset %d has no JSON form", ErrCorrupt, math.Float64frombits(b), pos)
			}
			t.Kind, t.Off, t.Len, t.bits = MsgpackFloat, 0, 0, b
			pos += 9
		default:
			r.pos, r.need = pos, need
			var err error
			if c >= 0x80 && c <= 0x9f && !key {
				// A fixmap or fixarray.
				r.pos++
				k := mpArray
				if c <= 0x8f {
					k = mpMap
				}
				err = r.open(t, k, uint64(c&0x0f), pos)
			} else {
				err = r.header(t, key)
			}
			if err != nil {
				return i, err
			}
			pos, need = r.pos, r.need
		}
		if need&^mapLevel == 0 && r.depth > 0 {
			need = r.close(t, need)
		}
	}
	r.pos, r.need = pos, need
	return i, nil
}

// key reads the key of a map entry at r.pos into t when it is not one of read's fast
// paths (a fixstr that fits).
func (r *MsgpackReader) key(t *MsgpackToken) error {
	var k MsgpackToken
	if err := r.header(&k, true); err != nil {
		return err
	}
	t.Key, t.KeyOff, t.KeyLen, t.keyBits = k.Kind, k.Off, k.Len, k.bits
	return nil
}

// close closes the arrays and maps that the value t ends, an empty one included, and
// returns the count of values still to read at the level it is back to. need is the count
// at the current level: none left.
func (r *MsgpackReader) close(t *MsgpackToken, need uint64) uint64 {
	for need&^mapLevel == 0 && r.depth > 0 {
		r.depth--
		if r.depth < len(r.stack) {
			need = r.stack[r.depth]
		} else {
			need = r.deep[len(r.deep)-1]
			r.deep = r.deep[:len(r.deep)-1]
		}
		r.outer -= need &^ mapLevel
		t.Ends++
	}
	return need
}

func (r *MsgpackReader) missing() error {
	switch {
	case len(r.data) == 0:
		return fmt.Errorf("%w: msgpack: empty input", ErrCorrupt)
	case !r.More():
		return fmt.Errorf("%w: msgpack: no value left at offset %d", ErrCorrupt, r.pos)
	}
	return fmt.Errorf("%w: msgpack: truncated: %d more values expected at offset %d", ErrCorrupt, r.pending(), r.pos)
}

// pending is the number of values still to read at all levels.
func (r *MsgpackReader) pending() uint64 { return r.outer + r.need&^mapLevel }

func (r *MsgpackReader) push() {
	r.outer += r.need &^ mapLevel
	if r.depth < len(r.stack) {
		r.stack[r.depth] = r.need
	} else {
		r.deep = append(r.deep, r.need)
	}
	r.depth++
}

// header reads a value whose header is not one of read's fast paths; key: it is a map key.
func (r *MsgpackReader) header(t *MsgpackToken, key bool) error {
	t.Off, t.Len, t.bits = 0, 0, 0
	start := r.pos
	k, hdr, n, err := msgpackHeader(r.data, start)
	if err != nil {
		return err
	}
	if key && !r.loose && k != mpStr && k != mpUint && k != mpInt && k != mpPosFix && k != mpNegFix {
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
	case mpPosFix:
		t.Kind, t.bits = MsgpackInt, uint64(c)
	case mpNegFix:
		t.Kind, t.bits = MsgpackInt, uint64(int64(int8(c)))
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
		case k == mpExt:
			// The pre-scan too: the library reads an extension where a map is expected
			// as the map its data begins with, so no extension but the timestamp passes.
			return r.timestamp(t, start)
		}
	case mpArray, mpMap:
		return r.open(t, k, n, start)
	}
	return nil
}

// open reads the header of an array or map (k) of n items or entries that starts at start
// and ends at r.pos.
func (r *MsgpackReader) open(t *MsgpackToken, k mpKind, n uint64, start int) error {
	t.Off, t.bits = 0, 0
	if r.depth >= r.maxDepth {
		return depthError(start, r.maxDepth)
	}
	count := n
	if k == mpMap {
		count = 2 * n
	}
	if rest := uint64(len(r.data) - r.pos); count+r.pending() > rest {
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
	return nil
}

// timestamp checks the extension whose header starts at start and whose data t points to:
// only the timestamp (-1) maps to JSON, as an RFC 3339 string.
func (r *MsgpackReader) timestamp(t *MsgpackToken, start int) error {
	if typ := int8(r.data[t.Off-1]); typ != -1 { // the last byte of every ext header
		return fmt.Errorf("%w: msgpack: extension type %d at offset %d has no JSON form", ErrCorrupt, typ, start)
	}
	p := r.data[t.Off : t.Off+t.Len]
	if len(p) > 0 && (p[0] == 0xde || p[0] == 0xdf) {
		r.mapLike++
	}
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
	t.Kind, t.Off, t.Len, t.bits = MsgpackTime, 0, int(nsec), uint64(sec)
	if y := t.Time().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("%w: msgpack: timestamp at offset %d: year %d is outside RFC 3339 (0-9999)", ErrCorrupt, start, y)
	}
	return nil
}
