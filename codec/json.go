package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
)

// Names of the built-in serializers.
const (
	SerializerJSON    = "json"
	SerializerMsgpack = "msgpack"
)

// NewJSON returns the "json" serializer (encoding/json). Numbers decode as json.Number
// wherever the target is an interface; nesting deeper than l.MaxDepth, number literals
// over 256 characters and exponents beyond ±999 are refused before decoding. HTML
// characters are not escaped. JSON-ready values, and typed values of the commonest
// kinds (json_plan.go), are read with JSONReader into what encoding/json builds.
func NewJSON(l Limits) Serializer {
	return &jsonSerializer{maxDepth: l.withDefaults().MaxDepth, encoders: writerPool[*json.Encoder]{open: newJSONEncoder}}
}

type jsonSerializer struct {
	maxDepth int
	encoders writerPool[*json.Encoder]
	readers  sync.Pool // *bytes.Reader
}

func newJSONEncoder(w *appendWriter) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

func (*jsonSerializer) Name() string { return SerializerJSON }

func (s *jsonSerializer) Marshal(dst []byte, v any) ([]byte, error) {
	start := len(dst)
	dst, err := s.encoders.appendTo(dst, func(enc *json.Encoder, _ *appendWriter) error { return enc.Encode(v) })
	if err != nil {
		return dst, fmt.Errorf("codec: json: %w", err)
	}
	// Encode ends the value with a newline that is not part of the message.
	if n := len(dst); n > start && dst[n-1] == '\n' {
		dst = dst[:n-1]
	}
	return dst, nil
}

func (s *jsonSerializer) Unmarshal(data []byte, v any) error {
	if p, ok := v.(*any); ok {
		return unmarshalAny(s, data, p)
	}
	if _, done := s.unmarshalPlanned(data, v); done {
		return nil
	}
	return s.libraryUnmarshal(data, v)
}

// libraryUnmarshal decodes data into v with encoding/json, after checkJSON.
func (s *jsonSerializer) libraryUnmarshal(data []byte, v any) error {
	if err := checkJSON(data, s.maxDepth); err != nil {
		return err
	}
	if !mayHoldInterface(reflect.TypeOf(v)) {
		// UseNumber changes nothing for this type: decode in place, without the
		// Decoder's copy of the input.
		return jsonError(json.Unmarshal(data, v))
	}
	return s.decode(data, v)
}

func (s *jsonSerializer) UnmarshalValue(data []byte) (any, error) {
	if v, ok := jsonValue(data, s.maxDepth); ok {
		return v, nil
	}
	// Refused: encoding/json says why, as it always did.
	if err := checkJSON(data, s.maxDepth); err != nil {
		return nil, err
	}
	var v any
	if err := s.decode(data, &v); err != nil {
		return nil, err
	}
	return v, nil
}

func (s *jsonSerializer) decode(data []byte, v any) error {
	r, _ := s.readers.Get().(*bytes.Reader)
	if r == nil {
		r = new(bytes.Reader)
	}
	r.Reset(data)
	dec := json.NewDecoder(r)
	dec.UseNumber()
	err := dec.Decode(v)
	if err == nil {
		// One message is one value: anything but white space after it is an error.
		rest := data[dec.InputOffset():]
		if len(bytes.TrimLeft(rest, " \t\r\n")) != 0 {
			err = fmt.Errorf("%d bytes after the value at offset %d", len(rest), dec.InputOffset())
		}
	}
	r.Reset(nil)
	s.readers.Put(r)
	return jsonError(err)
}

// jsonError wraps an encoding/json error: a value of the wrong type for its target is a
// plain error, anything else means the input is not JSON.
func jsonError(err error) error {
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	var invalid *json.InvalidUnmarshalError
	if errors.As(err, &typeErr) || errors.As(err, &invalid) {
		return fmt.Errorf("codec: json: %w", err)
	}
	return fmt.Errorf("%w: json: %w", ErrCorrupt, err)
}

var (
	interfaceTypes    = typeCache[bool]{walk: holdsInterface} // see mayHoldInterface
	jsonUnmarshalerTy = reflect.TypeFor[json.Unmarshaler]()
)

// mayHoldInterface reports whether decoding into a value of type t can store a JSON
// number in an interface, where UseNumber matters. Types that decode themselves
// (json.Unmarshaler) do not see the Decoder's options, so they count as no.
func mayHoldInterface(t reflect.Type) bool {
	return t == nil || interfaceTypes.get(t)
}

func holdsInterface(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false // a cycle adds nothing new
	}
	seen[t] = true
	if t.Kind() != reflect.Pointer && (t.Implements(jsonUnmarshalerTy) || reflect.PointerTo(t).Implements(jsonUnmarshalerTy)) {
		return false
	}
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return holdsInterface(t.Elem(), seen)
	case reflect.Map:
		return holdsInterface(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsInterface(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

// JSON numbers are arbitrary-precision text, and a JSON Schema validator turns them into
// big rationals (jsonschema/v5 does, for minimum, maximum, multipleOf, enum and const):
// "1e999999" is 8 bytes that cost 0.2 s and 400 KB there, a million-digit literal 3 s.
// No number a service exchanges needs more than these bounds.
const (
	maxJSONNumberLen    = 256 // characters in one number literal
	maxJSONExponentDigs = 3   // significant digits of an exponent: |e| <= 999
)

// checkJSON refuses JSON nested deeper than maxDepth arrays and objects, and numbers
// longer than maxJSONNumberLen characters or with exponents beyond ±999, before a decoder
// (or a schema validator walking the result) spends stack, time or memory on them.
// Syntax is left to the decoder.
func checkJSON(data []byte, maxDepth int) error {
	depth := 0
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '"':
			// Skip the string, escapes included; an unterminated one is left to the decoder.
			for i++; i < len(data); i++ {
				if data[i] == '\\' {
					i++
				} else if data[i] == '"' {
					break
				}
			}
		case '[', '{':
			depth++
			if depth > maxDepth {
				return fmt.Errorf("%w: json: nesting at offset %d is deeper than the limit of %d", ErrTooDeep, i, maxDepth)
			}
		case ']', '}':
			depth--
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			end, err := checkJSONNumber(data, i)
			if err != nil {
				return err
			}
			i = end - 1
		}
	}
	return nil
}

// checkJSONNumber checks the number literal at data[start:] and returns where it ends.
func checkJSONNumber(data []byte, start int) (int, error) {
	i := start
	exp := -1 // offset of the first exponent digit
	for ; i < len(data); i++ {
		c := data[i]
		if c == 'e' || c == 'E' {
			exp = i + 1
			if exp < len(data) && (data[exp] == '+' || data[exp] == '-') {
				exp++
			}
			i = exp - 1
			continue
		}
		if (c < '0' || c > '9') && c != '.' && c != '-' && c != '+' {
			break
		}
	}
	if i-start > maxJSONNumberLen {
		return i, fmt.Errorf("%w: json: number at offset %d is %d characters long, over the limit of %d", ErrTooLarge, start, i-start, maxJSONNumberLen)
	}
	if exp >= 0 {
		digits := bytes.TrimLeft(data[exp:i], "0")
		if len(digits) > maxJSONExponentDigs {
			return i, fmt.Errorf("%w: json: number at offset %d has an exponent beyond ±999", ErrTooLarge, start)
		}
	}
	return i, nil
}
