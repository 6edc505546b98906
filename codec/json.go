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

// ContentTyper is implemented by serializers that have an HTTP media type.
type ContentTyper interface {
	ContentType() string
}

// NewJSON returns the "json" serializer (encoding/json). Numbers decode as json.Number
// wherever the target is an interface, nesting deeper than l.MaxDepth is refused before
// decoding, and HTML characters are not escaped.
func NewJSON(l Limits) Serializer {
	return &jsonSerializer{maxDepth: l.withDefaults().MaxDepth}
}

type jsonSerializer struct {
	maxDepth int
	encoders sync.Pool // *jsonEncoder
	readers  sync.Pool // *bytes.Reader
}

type jsonEncoder struct {
	out appendWriter
	enc *json.Encoder
}

func (*jsonSerializer) Name() string        { return SerializerJSON }
func (*jsonSerializer) ContentType() string { return "application/json" }

func (s *jsonSerializer) Marshal(dst []byte, v any) ([]byte, error) {
	e, _ := s.encoders.Get().(*jsonEncoder)
	if e == nil {
		e = new(jsonEncoder)
		e.enc = json.NewEncoder(&e.out)
		e.enc.SetEscapeHTML(false)
	}
	start := len(dst)
	e.out.b = dst
	err := e.enc.Encode(v)
	dst = e.out.b
	e.out.b = nil
	s.encoders.Put(e)
	if err != nil {
		return dst[:start], fmt.Errorf("codec: json: %w", err)
	}
	// Encode ends the value with a newline that is not part of the message.
	if n := len(dst); n > start && dst[n-1] == '\n' {
		dst = dst[:n-1]
	}
	return dst, nil
}

func (s *jsonSerializer) Unmarshal(data []byte, v any) error {
	if p, ok := v.(*any); ok {
		val, err := s.UnmarshalValue(data)
		if err != nil {
			return err
		}
		*p = val
		return nil
	}
	if err := checkJSONDepth(data, s.maxDepth); err != nil {
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
	if err := checkJSONDepth(data, s.maxDepth); err != nil {
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
	interfaceTypes    sync.Map // reflect.Type -> bool: see mayHoldInterface
	jsonUnmarshalerTy = reflect.TypeFor[json.Unmarshaler]()
)

// mayHoldInterface reports whether decoding into a value of type t can store a JSON
// number in an interface, where UseNumber matters. Types that decode themselves
// (json.Unmarshaler) do not see the Decoder's options, so they count as no.
func mayHoldInterface(t reflect.Type) bool {
	if t == nil {
		return true
	}
	if v, ok := interfaceTypes.Load(t); ok {
		return v.(bool)
	}
	has := holdsInterface(t, map[reflect.Type]bool{})
	interfaceTypes.Store(t, has)
	return has
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

// checkJSONDepth refuses JSON nested deeper than maxDepth arrays and objects, before a
// decoder (or a schema validator walking the result) recurses into it.
func checkJSONDepth(data []byte, maxDepth int) error {
	if len(data) <= maxDepth {
		return nil // too short to open more than maxDepth brackets
	}
	depth := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
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
		}
	}
	return nil
}
