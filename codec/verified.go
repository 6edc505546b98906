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
// the syntax).
func (s *jsonSerializer) UnmarshalVerified(data []byte, v any) error {
	if _, ok := v.(*any); ok {
		return s.Unmarshal(data, v)
	}
	if !mayHoldInterface(reflect.TypeOf(v)) {
		return jsonError(json.Unmarshal(data, v))
	}
	return s.decode(data, v)
}
