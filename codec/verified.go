package codec

import (
	"encoding/json"
	"reflect"
)

// Decoding a message that was already read once under the same rules: a layer that
// checks a message from its bytes before decoding it (jesus validates every message
// against its schema) has read every header and length by then, so the decoder's own
// input check would be a second pass over the same bytes.

// VerifiedUnmarshaler is implemented by serializers that can skip their input checks
// (an optional ability, found by type assertion).
type VerifiedUnmarshaler interface {
	// UnmarshalVerified is Unmarshal for data that is known to pass the checks Unmarshal
	// makes first: data that this serializer's UnmarshalValue, or a reader that accepts
	// no more than it does, has accepted within the same limits.
	UnmarshalVerified(data []byte, v any) error
}

// DecodeVerified is Decode for raw that is known to be well-formed within the
// pipeline's limits (see VerifiedUnmarshaler); serializers without the ability decode
// with their checks.
func (p *Pipeline) DecodeVerified(raw []byte, v any) error {
	if vu, ok := p.ser.(VerifiedUnmarshaler); ok {
		return vu.UnmarshalVerified(raw, v)
	}
	return p.ser.Unmarshal(raw, v)
}

// msgpack has no verified path: its pre-scan also finds the timestamps that the
// msgpack library would read as a map header (see widenTimestamps), which a schema
// check does not, so every typed msgpack decode runs it.

// UnmarshalVerified decodes without checkJSON's depth pass (encoding/json still checks
// the syntax); a type with a compiled plan reads in one pass either way.
func (s *jsonSerializer) UnmarshalVerified(data []byte, v any) error {
	if _, ok := v.(*any); ok {
		return s.Unmarshal(data, v)
	}
	if _, done := s.unmarshalPlanned(data, v); done {
		return nil
	}
	if !mayHoldInterface(reflect.TypeOf(v)) {
		return jsonError(json.Unmarshal(data, v))
	}
	return s.decode(data, v)
}

// ExactUnmarshaler is implemented by serializers that can tell whether a message is
// exactly what they write for the value they read from it (an optional ability, found
// by type assertion). A check that holds for the value as written then holds for the
// message: jesus checks such a message by its value, without a second pass over the
// bytes.
type ExactUnmarshaler interface {
	// UnmarshalExact is Unmarshal that also reports whether data is what Marshal writes
	// for the decoded value, but for the order of map keys and the widths of numbers and
	// of headers. False means only that it is not known.
	UnmarshalExact(data []byte, v any) (exact bool, err error)
}

// DecodeExact is Decode that also reports whether raw is exactly what the serializer
// writes for the decoded value (see ExactUnmarshaler); serializers without the ability
// report false.
func (p *Pipeline) DecodeExact(raw []byte, v any) (exact bool, err error) {
	if eu, ok := p.ser.(ExactUnmarshaler); ok {
		return eu.UnmarshalExact(raw, v)
	}
	return false, p.ser.Unmarshal(raw, v)
}
