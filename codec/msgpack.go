package codec

import (
	"bytes"
	"encoding/json"
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
	return &msgpackSerializer{maxDepth: l.withDefaults().MaxDepth}
}

type msgpackSerializer struct {
	maxDepth int
	encoders sync.Pool // *msgpackEncoder
	decoders sync.Pool // *msgpackDecoder
}

type msgpackEncoder struct {
	out appendWriter
	enc *msgpack.Encoder
}

type msgpackDecoder struct {
	scan     MsgpackReader // the pre-scan's, kept with the decoder so as not to clear it per call
	in       bytes.Reader
	dec      *msgpack.Decoder
	mapValue func(*msgpack.Decoder) (any, error)
}

func (*msgpackSerializer) Name() string { return SerializerMsgpack }

func (s *msgpackSerializer) Marshal(dst []byte, v any) ([]byte, error) {
	e, _ := s.encoders.Get().(*msgpackEncoder)
	if e == nil {
		e = new(msgpackEncoder)
		e.enc = msgpack.NewEncoder(&e.out)
		e.enc.SetCustomStructTag("json")
		e.enc.UseCompactInts(true)
	}
	start := len(dst)
	e.out.b = dst
	var err error
	switch v.(type) {
	case map[string]any, []any, json.Number:
		err = e.appendValue(v, 0)
	default:
		err = e.enc.Encode(v)
	}
	dst = e.out.b
	e.out.b = nil
	s.encoders.Put(e)
	if err != nil {
		return dst[:start], fmt.Errorf("codec: msgpack: %w", err)
	}
	return dst, nil
}

func (s *msgpackSerializer) Unmarshal(data []byte, v any) error {
	if p, ok := v.(*any); ok {
		val, err := msgpackValue(data, s.maxDepth)
		if err != nil {
			return err
		}
		*p = val
		return nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("codec: msgpack: Unmarshal needs a non-nil pointer, not %T", v)
	}
	d, _ := s.decoders.Get().(*msgpackDecoder)
	if d == nil {
		d = new(msgpackDecoder)
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
	}
	mapLike, err := checkMsgpack(&d.scan, data, s.maxDepth)
	d.scan.Reset(nil, 0)
	if err != nil {
		s.decoders.Put(d)
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
	s.decoders.Put(d)
	if err != nil {
		// The input is well-formed (checked above): the value does not fit the target.
		return fmt.Errorf("codec: msgpack: %w", err)
	}
	return nil
}

func (s *msgpackSerializer) UnmarshalValue(data []byte) (any, error) {
	return msgpackValue(data, s.maxDepth)
}
