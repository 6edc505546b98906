package schema

// The msgpack tape reader as it was before it was built on codec.MsgpackReader, kept to
// compare the two.

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"github.com/jesus-go/jesus/codec"
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// readMsgpack reads one msgpack message into t. It mirrors codec's msgpack value decoder
// (ints → int64, or uint64 above MaxInt64; float32 and float64 → float64 and neither NaN
// nor infinite; bin → standard base64; the timestamp extension → RFC 3339 with
// nanoseconds in UTC, years 0-9999; map keys strings or integers in decimal; every
// declared length within the bytes that remain; no trailing bytes) and precheck's depth
// bound. It reports false for any message the decoder or precheck would refuse.
func (t *tape) old_readMsgpack(maxDepth int) bool {
	r := old_mpReader{t: t, data: t.data, maxDepth: maxDepth}
	if len(t.data) == 0 || len(t.data) > maxTapeInput || !r.value(0) {
		return false
	}
	return r.pos == len(t.data)
}

type old_mpReader struct {
	t        *tape
	data     []byte
	pos      int
	maxDepth int
}

// header decodes the header at pos: the kind, the header size, and the length (str, bin,
// ext: payload bytes; array: items; map: members). ok is false on a bad type byte or a
// truncated header.
func (r *old_mpReader) header() (k tkind, ext bool, hdr int, n uint64, ok bool) {
	d := r.data[r.pos:]
	c := d[0]
	size := func(s int) bool { return len(d) >= s }
	switch c {
	case 0xc4, 0xd9: // bin8, str8
		if !size(2) {
			return
		}
		return tkStr, false, 2, uint64(d[1]), true
	case 0xc5, 0xda:
		if !size(3) {
			return
		}
		return tkStr, false, 3, uint64(binary.BigEndian.Uint16(d[1:])), true
	case 0xc6, 0xdb:
		if !size(5) {
			return
		}
		return tkStr, false, 5, uint64(binary.BigEndian.Uint32(d[1:])), true
	case 0xc7: // ext8
		if !size(3) {
			return
		}
		return tkStr, true, 3, uint64(d[1]), true
	case 0xc8:
		if !size(4) {
			return
		}
		return tkStr, true, 4, uint64(binary.BigEndian.Uint16(d[1:])), true
	case 0xc9:
		if !size(6) {
			return
		}
		return tkStr, true, 6, uint64(binary.BigEndian.Uint32(d[1:])), true
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext
		if !size(2) {
			return
		}
		return tkStr, true, 2, 1 << (c - 0xd4), true
	case 0xdc:
		if !size(3) {
			return
		}
		return tkArr, false, 3, uint64(binary.BigEndian.Uint16(d[1:])), true
	case 0xdd:
		if !size(5) {
			return
		}
		return tkArr, false, 5, uint64(binary.BigEndian.Uint32(d[1:])), true
	case 0xde:
		if !size(3) {
			return
		}
		return tkObj, false, 3, uint64(binary.BigEndian.Uint16(d[1:])), true
	case 0xdf:
		if !size(5) {
			return
		}
		return tkObj, false, 5, uint64(binary.BigEndian.Uint32(d[1:])), true
	}
	return 0, false, 0, 0, false
}

func (r *old_mpReader) value(depth int) bool {
	if r.pos >= len(r.data) {
		return false
	}
	t := r.t
	c := r.data[r.pos]
	switch {
	case c <= 0x7f:
		t.push(tkInt, int64(c))
		r.pos++
		return true
	case c >= 0xe0:
		t.push(tkInt, int64(int8(c)))
		r.pos++
		return true
	case c >= 0xa0 && c <= 0xbf:
		n := int(c & 0x1f)
		if n > len(r.data)-r.pos-1 {
			return false
		}
		t.pushSpan(tkStr, r.pos+1, n)
		r.pos += 1 + n
		return true
	case c >= 0x90 && c <= 0x9f:
		return r.array(depth, 1, uint64(c&0x0f))
	case c >= 0x80 && c <= 0x8f:
		return r.object(depth, 1, uint64(c&0x0f))
	}
	d := r.data[r.pos+1:]
	switch c {
	case 0xc0:
		t.push(tkNull, 0)
		r.pos++
		return true
	case 0xc2:
		t.push(tkFalse, 0)
		r.pos++
		return true
	case 0xc3:
		t.push(tkTrue, 0)
		r.pos++
		return true
	case 0xcc, 0xcd, 0xce, 0xcf: // uint 8-64
		size := 1 << (c - 0xcc)
		if len(d) < size {
			return false
		}
		u := old_readUint(d, size)
		if u <= math.MaxInt64 {
			t.push(tkInt, int64(u))
		} else {
			t.push(tkUint, int64(u))
		}
		r.pos += 1 + size
		return true
	case 0xd0, 0xd1, 0xd2, 0xd3: // int 8-64
		size := 1 << (c - 0xd0)
		if len(d) < size {
			return false
		}
		t.push(tkInt, old_readInt(d, size))
		r.pos += 1 + size
		return true
	case 0xca, 0xcb:
		var f float64
		if c == 0xca {
			if len(d) < 4 {
				return false
			}
			f = float64(math.Float32frombits(binary.BigEndian.Uint32(d)))
			r.pos += 5
		} else {
			if len(d) < 8 {
				return false
			}
			f = math.Float64frombits(binary.BigEndian.Uint64(d))
			r.pos += 9
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
		t.push(tkFloat, int64(math.Float64bits(f)))
		return true
	}
	k, ext, hdr, n, ok := r.header()
	if !ok {
		return false
	}
	switch {
	case ext:
		return r.ext(hdr, n)
	case k == tkStr:
		return r.str(hdr, n, c >= 0xc4 && c <= 0xc6)
	case k == tkArr:
		return r.array(depth, hdr, n)
	}
	return r.object(depth, hdr, n)
}

// str reads a str (or, bin: a bin, as base64) whose header of hdr bytes declares n bytes.
func (r *old_mpReader) str(hdr int, n uint64, bin bool) bool {
	from := r.pos + hdr
	if n > uint64(len(r.data)-from) {
		return false
	}
	to := from + int(n)
	r.pos = to
	if bin {
		s := len(r.t.scratch)
		r.t.scratch = base64.StdEncoding.AppendEncode(r.t.scratch, r.data[from:to])
		r.t.pushScratch(s)
		return true
	}
	r.t.pushSpan(tkStr, from, int(n))
	return true
}

func (r *old_mpReader) array(depth, hdr int, n uint64) bool {
	if depth >= r.maxDepth {
		return false
	}
	r.pos += hdr
	if n > uint64(len(r.data)-r.pos) {
		return false
	}
	i := r.t.push(tkArr, 0)
	for range n {
		if !r.value(depth + 1) {
			return false
		}
	}
	r.t.toks[i].a = uint32(n)
	r.t.toks[i].b = uint32(len(r.t.toks))
	return true
}

func (r *old_mpReader) object(depth, hdr int, n uint64) bool {
	if depth >= r.maxDepth {
		return false
	}
	r.pos += hdr
	if 2*n > uint64(len(r.data)-r.pos) {
		return false
	}
	i := r.t.push(tkObj, 0)
	for range n {
		var off, ln int
		var scratch, ok bool
		if r.pos < len(r.data) && r.data[r.pos]&0xe0 == 0xa0 { // fixstr, the common key
			off, ln = r.pos+1, int(r.data[r.pos]&0x1f)
			if ln > len(r.data)-off {
				return false
			}
			r.pos = off + ln
			ok = true
		} else {
			off, ln, scratch, ok = r.key()
		}
		j := len(r.t.toks)
		if !ok || !r.value(depth+1) {
			return false
		}
		r.t.setKey(j, off, ln, scratch)
	}
	r.t.closeObj(i, int(n))
	return true
}

// key reads a map key, a str or an integer (written in decimal into scratch), and returns
// where its bytes are.
func (r *old_mpReader) key() (off, ln int, scratch, ok bool) {
	if r.pos >= len(r.data) {
		return
	}
	c := r.data[r.pos]
	var hdr int
	var n uint64
	switch {
	case c >= 0xa0 && c <= 0xbf:
		hdr, n = 1, uint64(c&0x1f)
	case c == 0xd9 || c == 0xda || c == 0xdb:
		if _, _, hdr, n, ok = r.header(); !ok {
			return
		}
	case c <= 0x7f || c >= 0xe0 || c >= 0xcc && c <= 0xcf || c >= 0xd0 && c <= 0xd3:
		if !r.value(0) {
			return
		}
		// Take back the integer token just read and write its decimal form.
		t := r.t
		k := t.toks[len(t.toks)-1]
		t.toks = t.toks[:len(t.toks)-1]
		s := len(t.scratch)
		if k.kind == tkUint {
			t.scratch = strconv.AppendUint(t.scratch, uint64(k.bits()), 10)
		} else {
			t.scratch = strconv.AppendInt(t.scratch, k.bits(), 10)
		}
		return s, len(t.scratch) - s, true, true
	default:
		return
	}
	from := r.pos + hdr
	if n > uint64(len(r.data)-from) {
		return 0, 0, false, false
	}
	r.pos = from + int(n)
	return from, int(n), false, true
}

// ext reads an extension: only the timestamp (-1) has a JSON form.
func (r *old_mpReader) ext(hdr int, n uint64) bool {
	typ := int8(r.data[r.pos+hdr-1])
	from := r.pos + hdr
	if n > uint64(len(r.data)-from) || typ != -1 {
		return false
	}
	p := r.data[from : from+int(n)]
	r.pos = from + int(n)
	var ts time.Time
	switch len(p) {
	case 4:
		ts = time.Unix(int64(binary.BigEndian.Uint32(p)), 0)
	case 8:
		v := binary.BigEndian.Uint64(p)
		nsec := int64(v >> 34)
		if nsec > 999999999 {
			return false
		}
		ts = time.Unix(int64(v&(1<<34-1)), nsec)
	case 12:
		nsec := int64(binary.BigEndian.Uint32(p))
		if nsec > 999999999 {
			return false
		}
		ts = time.Unix(int64(binary.BigEndian.Uint64(p[4:])), nsec)
	default:
		return false
	}
	ts = ts.UTC()
	if y := ts.Year(); y < 0 || y > 9999 {
		return false
	}
	s := len(r.t.scratch)
	r.t.scratch = ts.AppendFormat(r.t.scratch, time.RFC3339Nano)
	r.t.pushScratch(s)
	return true
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

// FuzzTapeMsgpackOld compares the msgpack tape reader built on codec.MsgpackReader with
// the one it replaces: the same verdict, the same tokens, the same scratch bytes.
func FuzzTapeMsgpackOld(f *testing.F) {
	addCorpus(f, "FuzzValidateMsgpack", "FuzzMsgpackValue", "FuzzMsgpackScan", "FuzzPipelineDecode")
	for _, s := range tapeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range fuzzDepths {
			a, b := getTape(data), getTape(data)
			okA, okB := a.readMsgpack(d), b.old_readMsgpack(d)
			if okA != okB {
				t.Fatalf("depth %d: reader says %v, before %v", d, okA, okB)
			}
			if okA && !reflect.DeepEqual(tapeShape(a), tapeShape(b)) {
				t.Fatalf("depth %d: tapes differ:\n%q\n%q", d, tapeShape(a), tapeShape(b))
			}
			putTape(a)
			putTape(b)
		}
	})
}

func BenchmarkTapeMsgpackOld(b *testing.B) {
	var lines []any
	for i := range 60 {
		lines = append(lines, map[string]any{"sku": "SKU-" + strconv.Itoa(1000+i), "quantity": int64(1 + i%7),
			"unitPrice": map[string]any{"amount": 3.25 + float64(i), "currency": "EUR"}})
	}
	x := map[string]any{"id": "o-2002", "customer": map[string]any{"id": "c-42", "name": "Ada Lovelace", "email": "ada@example.com"},
		"currency": "EUR", "lines": lines, "status": "submitted"}
	data, err := codec.NewMsgpack(codec.Limits{}).Marshal(nil, x)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		read func(*tape) bool
	}{{"old", func(t *tape) bool { return t.old_readMsgpack(64) }}, {"new", func(t *tape) bool { return t.readMsgpack(64) }}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				t := getTape(data)
				if !c.read(t) {
					b.Fatal("refused")
				}
				putTape(t)
			}
		})
	}
}

// tapeShape renders every token of t with what it resolves to (kind, flags, key bytes,
// string bytes, count and end, value bits), not where in scratch its bytes are.
func tapeShape(t *tape) []string {
	var out []string
	for i := range t.toks {
		k := t.toks[i]
		s := fmt.Sprintf("%d dup=%v key=%q", k.kind, k.dup, t.key(i))
		switch k.kind {
		case tkStr, tkNumText:
			s += fmt.Sprintf(" %q", t.bytes(i))
		default:
			s += fmt.Sprintf(" a=%d b=%d", k.a, k.b)
		}
		out = append(out, s)
	}
	return out
}
