package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// NewMsgpack returns the "msgpack" serializer (github.com/vmihailenco/msgpack/v5). It
// reads the `json` struct tags, so one Go type serves both serializers, and encodes
// structs as maps, so the bytes validate against the same JSON Schema. Integers are
// written in their smallest form.
//
// Unmarshal checks the whole input first (every declared length against the bytes that
// remain, nesting against l.MaxDepth) because the library allocates what a header
// declares before reading it. Decoding into *any, and UnmarshalValue, go through the
// package's own decoder, which yields JSON-ready values. Interface-typed fields inside a
// typed value get int64/uint64, float64, string, []any and JSON-ready maps.
//
// JSON-ready values (map[string]any, []any, json.Number at the top) are written by the
// package itself, so that a json.Number becomes a msgpack number, not a string: a value
// decoded from one serializer re-encodes unchanged with the other.
func NewMsgpack(l Limits) Serializer {
	return &msgpackSerializer{maxDepth: l.withDefaults().MaxDepth, encoders: writerPool[*msgpackEncoder]{open: newMsgpackEncoder}}
}

type msgpackSerializer struct {
	maxDepth int
	encoders writerPool[*msgpackEncoder]
	decoders sync.Pool // *msgpackDecoder
}

// msgpackEncoder writes JSON-ready values itself (appendValue) and hands the others to
// the library's encoder; both append to out.
type msgpackEncoder struct {
	out *appendWriter
	enc *msgpack.Encoder
}

func newMsgpackEncoder(w *appendWriter) *msgpackEncoder {
	enc := msgpack.NewEncoder(w)
	enc.SetCustomStructTag("json")
	enc.UseCompactInts(true)
	return &msgpackEncoder{out: w, enc: enc}
}

type msgpackDecoder struct {
	scan     MsgpackReader // the pre-scan's, kept with the decoder so as not to clear it per call
	plan     mpDec
	in       bytes.Reader
	dec      *msgpack.Decoder
	mapValue func(*msgpack.Decoder) (any, error)
}

func (*msgpackSerializer) Name() string { return SerializerMsgpack }

func (s *msgpackSerializer) Marshal(dst []byte, v any) ([]byte, error) {
	dst, err := s.encoders.appendTo(dst, func(e *msgpackEncoder, out *appendWriter) error {
		switch v.(type) {
		case map[string]any, []any, json.Number:
			return e.appendValue(v, 0)
		case nil:
			out.b = append(out.b, 0xc0)
			return nil
		}
		if p := planOf(reflect.TypeOf(v)); p != nil {
			var err error
			out.b, err = p.encodeHeld(out.b, v)
			return err
		}
		return e.enc.Encode(v)
	})
	if err != nil {
		return dst, fmt.Errorf("codec: msgpack: %w", err)
	}
	return dst, nil
}

func (s *msgpackSerializer) Unmarshal(data []byte, v any) error {
	if p, ok := v.(*any); ok {
		return unmarshalAny(s, data, p)
	}
	_, err := s.unmarshal(data, v)
	return err
}

// UnmarshalExact is Unmarshal that also reports whether data is what Marshal writes for
// the value it decoded, but for the order of map keys and the widths of numbers and
// headers (see ExactUnmarshaler). Only a zero target of a type with a compiled plan is
// ever read exactly.
func (s *msgpackSerializer) UnmarshalExact(data []byte, v any) (exact bool, err error) {
	if _, ok := v.(*any); ok {
		return false, s.Unmarshal(data, v)
	}
	return s.unmarshal(data, v)
}

func (s *msgpackSerializer) unmarshal(data []byte, v any) (exact bool, err error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return false, fmt.Errorf("codec: msgpack: Unmarshal needs a non-nil pointer, not %T", v)
	}
	d := s.decoder()
	defer s.decoders.Put(d)
	// A compiled plan reads a zero target in one pass. Whatever it cannot read is read
	// again by the library, from the zero value, so that the result is the library's.
	if p := planOf(rv.Type().Elem()); p != nil && rv.Elem().IsZero() {
		ptr := rv.UnsafePointer()
		err := d.plan.decode(data, s.maxDepth, p, ptr)
		if err == nil {
			return !d.plan.inexact, nil
		}
		typedZero(p.typ, ptr)
		if errors.Is(err, errPlanType) {
			// What is wrong with the input as msgpack is said first, as the library's
			// path says it; then that it does not fit.
			_, serr := checkMsgpack(&d.scan, data, s.maxDepth)
			d.scan.Reset(nil, 0)
			if serr != nil {
				return false, serr
			}
			return false, fmt.Errorf("%w (%s)", err, p.typ)
		}
	}
	return false, s.libraryUnmarshal(d, data, v)
}

func (s *msgpackSerializer) decoder() *msgpackDecoder {
	if d, _ := s.decoders.Get().(*msgpackDecoder); d != nil {
		return d
	}
	d := new(msgpackDecoder)
	d.dec = msgpack.NewDecoder(nil)
	d.dec.SetCustomStructTag("json")
	d.dec.UseLooseInterfaceDecoding(true)
	// Maps inside interface-typed fields: the input is already checked, so decode the
	// raw bytes with the JSON-ready walker.
	d.mapValue = func(dec *msgpack.Decoder) (any, error) {
		raw, err := dec.DecodeRaw()
		if err != nil {
			return nil, err
		}
		return msgpackValue(raw, s.maxDepth)
	}
	return d
}

// libraryUnmarshal decodes data into v with the library, after the input check.
func (s *msgpackSerializer) libraryUnmarshal(d *msgpackDecoder, data []byte, v any) error {
	mapLike, err := checkMsgpack(&d.scan, data, s.maxDepth)
	d.scan.Reset(nil, 0)
	if err != nil {
		return err
	}
	if err := checkPrealloc(data, s.maxDepth, reflect.TypeOf(v)); err != nil {
		return err
	}
	if mapLike {
		data = widenTimestamps(data, s.maxDepth)
	}
	d.in.Reset(data)
	d.dec.ResetReader(&d.in)
	d.dec.SetMapDecoder(d.mapValue)
	err = d.dec.Decode(v)
	d.in.Reset(nil)
	d.dec.ResetReader(nil)
	if err != nil {
		// The input is well-formed (checked above): the value does not fit the target.
		return fmt.Errorf("codec: msgpack: %w", err)
	}
	return nil
}

func (s *msgpackSerializer) UnmarshalValue(data []byte) (any, error) {
	return msgpackValue(data, s.maxDepth)
}
