package channel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"time"
)

// WireVersion is the first byte of every binary envelope.
const WireVersion = 1

// Field tags of the binary envelope (PROTOCOL.md, "Envelope"). Unknown tags are skipped.
const (
	tagEnd        = 0
	tagMethod     = 1
	tagTimeout    = 2 // uvarint microseconds
	tagCodec      = 3
	tagCorrID     = 4
	tagUserID     = 5
	tagFrom       = 6
	tagReqIn      = 7 // zig-zag varint Unix ns
	tagReqOut     = 8 // zig-zag varint Unix ns
	tagChannel    = 9
	tagTrace      = 10
	tagErrCode    = 11
	tagErrMessage = 12
	tagErrDetails = 13
	tagCredits    = 14 // uvarint
	tagExtra      = 15 // uvarint key length, key, value (rest of the field); repeatable
)

// MaxExtra caps the number of Meta.Extra entries a decoder accepts, so a small
// envelope cannot make the receiver build a huge map.
const MaxExtra = 64

// ErrMalformed is wrapped by every envelope decoding error.
var ErrMalformed = errors.New("channel: malformed envelope")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// AppendEnvelope appends the binary form of e to dst and returns the extended slice.
// The layout is: version u8, type u8, mode u8, id uvarint, fields (tag uvarint,
// length uvarint, value), a 0 tag, then Data to the end. The caller frames it.
func AppendEnvelope(dst []byte, e *Envelope) []byte {
	dst = append(dst, WireVersion, byte(e.Type), byte(e.Mode))
	dst = binary.AppendUvarint(dst, e.ID)
	dst = appendString(dst, tagMethod, e.Method)
	if e.Timeout > 0 {
		us := uint64(e.Timeout / time.Microsecond)
		if us == 0 {
			us = 1 // a positive timeout never rounds to "none"
		}
		dst = appendUvarintField(dst, tagTimeout, us)
	}
	dst = appendString(dst, tagCodec, e.Codec)
	m := &e.Meta
	dst = appendString(dst, tagCorrID, m.CorrID)
	dst = appendString(dst, tagUserID, m.UserID)
	dst = appendString(dst, tagFrom, m.From)
	if m.ReqIn != 0 {
		dst = appendVarintField(dst, tagReqIn, m.ReqIn)
	}
	if m.ReqOut != 0 {
		dst = appendVarintField(dst, tagReqOut, m.ReqOut)
	}
	dst = appendString(dst, tagChannel, m.Channel)
	dst = appendString(dst, tagTrace, m.Trace)
	dst = appendString(dst, tagErrCode, e.ErrCode)
	dst = appendString(dst, tagErrMessage, e.ErrMessage)
	if len(e.ErrDetails) > 0 {
		dst = binary.AppendUvarint(dst, tagErrDetails)
		dst = binary.AppendUvarint(dst, uint64(len(e.ErrDetails)))
		dst = append(dst, e.ErrDetails...)
	}
	if e.Credits != 0 {
		dst = appendUvarintField(dst, tagCredits, uint64(e.Credits))
	}
	if len(m.Extra) > 0 {
		var room [8]string // most requests have a few entries: sort them without allocating
		keys := room[:0]
		for k := range m.Extra {
			keys = append(keys, k)
		}
		sort.Strings(keys) // deterministic bytes
		for _, k := range keys {
			v := m.Extra[k]
			n := uint64(uvarintLen(uint64(len(k))) + len(k) + len(v))
			dst = binary.AppendUvarint(dst, tagExtra)
			dst = binary.AppendUvarint(dst, n)
			dst = binary.AppendUvarint(dst, uint64(len(k)))
			dst = append(dst, k...)
			dst = append(dst, v...)
		}
	}
	dst = append(dst, tagEnd)
	return append(dst, e.Data...)
}

// EnvelopeSize returns len(AppendEnvelope(nil, e)) without encoding.
func EnvelopeSize(e *Envelope) int {
	return len(AppendEnvelope(make([]byte, 0, 64+len(e.Data)), e))
}

// ParseEnvelope decodes b into e. e.Data aliases b (no copy); the string fields share one
// copy of the header, so a parse costs one allocation however many fields are set.
// Any error wraps ErrMalformed and leaves e partially filled.
func ParseEnvelope(b []byte, e *Envelope) error {
	*e = Envelope{}
	i, err := e.parseHead(b)
	if err != nil {
		return err
	}
	// First pass: find the fields and decode the non-string ones; remember where the
	// strings are so that they can all be cut from one copy of the header.
	var spans [maxStringTags]span
	var extraSpans [16]span // a key and a value each: room for 8 entries without allocating
	extras := extraSpans[:0]
	start := i
	for {
		tag, n := binary.Uvarint(b[i:])
		if n <= 0 {
			return malformed("bad field tag at offset %d", i)
		}
		i += n
		if tag == tagEnd {
			break
		}
		l, n := binary.Uvarint(b[i:])
		if n <= 0 {
			return malformed("bad length of field %d at offset %d", tag, i)
		}
		i += n
		if l > uint64(len(b)-i) {
			return malformed("field %d declares %d bytes, %d remain", tag, l, len(b)-i)
		}
		v := b[i : i+int(l)]
		sp := span{i, i + int(l)}
		i += int(l)
		switch {
		case tag < maxStringTags && isStringTag[tag]:
			spans[tag] = sp
		case tag == tagExtra:
			kl, n := binary.Uvarint(v)
			if n <= 0 || kl > uint64(len(v)-n) {
				return malformed("extra field: bad key length")
			}
			if len(extras)/2 >= MaxExtra {
				return malformed("more than %d extra meta entries", MaxExtra)
			}
			k := sp.from + n
			extras = append(extras, span{k, k + int(kl)}, span{k + int(kl), sp.to})
		default:
			if err := e.setField(tag, v); err != nil {
				return err
			}
		}
	}
	e.setStrings(string(b[start:i]), start, &spans, extras)
	if i < len(b) {
		e.Data = b[i:len(b):len(b)]
	}
	return nil
}

// parseHead decodes the version, type, mode and id at the start of b into e and returns
// the offset of the first field.
func (e *Envelope) parseHead(b []byte) (int, error) {
	if len(b) < 4 {
		return 0, malformed("%d bytes is shorter than the 4-byte minimum", len(b))
	}
	if b[0] != WireVersion {
		return 0, malformed("unsupported version %d (want %d)", b[0], WireVersion)
	}
	e.Type, e.Mode = Type(b[1]), Mode(b[2])
	if !e.Type.Valid() {
		return 0, malformed("unknown type %d", b[1])
	}
	if e.Mode != 0 && !e.Mode.Valid() {
		return 0, malformed("unknown mode %d", b[2])
	}
	id, n := binary.Uvarint(b[3:])
	if n <= 0 {
		return 0, malformed("bad id varint")
	}
	e.ID = id
	return 3 + n, nil
}

// setStrings sets e's string fields and extra meta entries from hdr, the one copy of the
// envelope's fields, which start at offset start: spans and extras locate them.
func (e *Envelope) setStrings(hdr string, start int, spans *[maxStringTags]span, extras []span) {
	str := func(s span) string {
		if s.to == 0 {
			return ""
		}
		return hdr[s.from-start : s.to-start]
	}
	e.Method = str(spans[tagMethod])
	e.Codec = str(spans[tagCodec])
	e.Meta.CorrID = str(spans[tagCorrID])
	e.Meta.UserID = str(spans[tagUserID])
	e.Meta.From = str(spans[tagFrom])
	e.Meta.Channel = str(spans[tagChannel])
	e.Meta.Trace = str(spans[tagTrace])
	e.ErrCode = str(spans[tagErrCode])
	e.ErrMessage = str(spans[tagErrMessage])
	if len(extras) > 0 {
		e.Meta.Extra = make(map[string]string, len(extras)/2)
		for j := 0; j < len(extras); j += 2 {
			e.Meta.Extra[hdr[extras[j].from-start:extras[j].to-start]] = hdr[extras[j+1].from-start : extras[j+1].to-start]
		}
	}
}

// span is a byte range [from, to) of the envelope; to == 0 means absent.
type span struct{ from, to int }

const maxStringTags = 13

var isStringTag = [maxStringTags]bool{
	tagMethod: true, tagCodec: true, tagCorrID: true, tagUserID: true, tagFrom: true,
	tagChannel: true, tagTrace: true, tagErrCode: true, tagErrMessage: true,
}

// setField decodes the non-string fields; unknown tags are skipped.
func (e *Envelope) setField(tag uint64, v []byte) error {
	switch tag {
	case tagTimeout:
		us, err := fieldUvarint(tag, v)
		if err != nil {
			return err
		}
		if us > uint64(1<<63-1)/uint64(time.Microsecond) {
			us = uint64(1<<63-1) / uint64(time.Microsecond)
		}
		e.Timeout = time.Duration(us) * time.Microsecond
	case tagReqIn, tagReqOut:
		x, n := binary.Varint(v)
		if n <= 0 || n != len(v) {
			return malformed("field %d: bad varint", tag)
		}
		if tag == tagReqIn {
			e.Meta.ReqIn = x
		} else {
			e.Meta.ReqOut = x
		}
	case tagErrDetails:
		e.ErrDetails = append([]byte(nil), v...)
	case tagCredits:
		c, err := fieldUvarint(tag, v)
		if err != nil {
			return err
		}
		if c > 1<<32-1 {
			c = 1<<32 - 1
		}
		e.Credits = uint32(c)
	}
	return nil
}

func fieldUvarint(tag uint64, v []byte) (uint64, error) {
	x, n := binary.Uvarint(v)
	if n <= 0 || n != len(v) {
		return 0, malformed("field %d: bad uvarint", tag)
	}
	return x, nil
}

func appendString(dst []byte, tag uint64, s string) []byte {
	if s == "" {
		return dst
	}
	dst = binary.AppendUvarint(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendUvarintField(dst []byte, tag, x uint64) []byte {
	dst = binary.AppendUvarint(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(uvarintLen(x)))
	return binary.AppendUvarint(dst, x)
}

func appendVarintField(dst []byte, tag uint64, x int64) []byte {
	ux := uint64(x) << 1
	if x < 0 {
		ux = ^ux
	}
	return appendUvarintField(dst, tag, ux)
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}
