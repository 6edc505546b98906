package jesus

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/jesus-go/jesus/codec"
)

// The one pass of a message through its codec and its schema check, shared by the
// client, the server, events and the CLI:
//
//	send:    value -> serialize -> check the serialized bytes -> compress
//	         (or, where the validator vouches for the value itself: check the value ->
//	         serialize -> compress)
//	receive: decompress once (pooled) -> check those bytes -> decode from the same bytes
//	         (or, where the serializer can tell that the bytes are exactly what it
//	         writes for the value it read and the validator vouches for that value:
//	         decode -> check the value)
//
// Nothing undoes its own work to look at it: one compression and one decompression per
// message per hop.

// Encode appends the encoded form of v under pl to dst. When val is not nil, the
// serialized bytes are checked against it before they are compressed. A message that
// fails val gets a *Error with code invalid_argument naming the schema and every
// failing pointer; one that cannot be encoded, a *Error with the code of the codec's
// failure (resource_exhausted over a size limit, else invalid_argument).
func Encode(pl *codec.Pipeline, val Validator, dst []byte, v any) ([]byte, error) {
	out, codecErr, schemaErr := encodeChecked(pl, val, dst, v)
	switch {
	case codecErr != nil:
		return out, &Error{Code: codecCode(codecErr), Message: fmt.Sprintf("encode (%s): %v", pl.Name(), codecErr), err: codecErr}
	case schemaErr != nil:
		return out, schemaFailure(schemaErr, CodeInvalidArgument, "", "the message")
	}
	return out, nil
}

// Decode decodes data, encoded under pl, into v (a pointer; nil only checks). When val
// is not nil the message is checked first, from the same decompressed bytes that are
// then decoded. Errors are those of Encode.
func Decode(pl *codec.Pipeline, val Validator, data []byte, v any) error {
	codecErr, schemaErr := decodeChecked(pl, val, data, v)
	switch {
	case codecErr != nil:
		return &Error{Code: codecCode(codecErr), Message: fmt.Sprintf("decode (%s): %v", pl.Name(), codecErr), err: codecErr}
	case schemaErr != nil:
		return schemaFailure(schemaErr, CodeInvalidArgument, "", "the message")
	}
	return nil
}

// encodeChecked is Encode with the two kinds of failure apart: codecErr when v could not
// be encoded, schemaErr when it fails val.
func encodeChecked(pl *codec.Pipeline, val Validator, dst []byte, v any) (out []byte, codecErr, schemaErr error) {
	if val == nil {
		out, err := pl.Marshal(dst, v)
		return out, err, nil
	}
	if a := acceptor(val, pl); a != nil && a.AcceptsEncoded(pl.Serializer().Name(), v) {
		out, err := pl.Marshal(dst, v)
		return out, err, nil
	}
	start := len(dst)
	if !pl.Compressed() {
		out, err := pl.Serialize(dst, v)
		if err != nil {
			return out[:start], err, nil
		}
		if codecErr, schemaErr = checkRaw(val, pl, out[start:]); codecErr != nil || schemaErr != nil {
			return out[:start], codecErr, schemaErr
		}
		return out, nil, nil
	}
	raw, err := pl.SerializePooled(v)
	if err != nil {
		return dst, err, nil
	}
	defer raw.Release()
	if codecErr, schemaErr = checkRaw(val, pl, raw.Raw); codecErr != nil || schemaErr != nil {
		return dst, codecErr, schemaErr
	}
	out, err = pl.Compress(dst, raw.Raw)
	if err != nil {
		return out[:start], err, nil
	}
	return out, nil, nil
}

// acceptor returns val as a ValueValidator when it is one and pl checks messages with the
// limits their bytes would be checked with (checkRaw); else nil.
func acceptor(val Validator, pl *codec.Pipeline) ValueValidator {
	a, ok := val.(ValueValidator)
	if l := pl.Limits(); !ok || l.MaxDepth != 0 && l.MaxDepth != codec.DefaultMaxDepth {
		return nil
	}
	return a
}

// decodeChecked is Decode with the two kinds of failure apart.
func decodeChecked(pl *codec.Pipeline, val Validator, data []byte, v any) (codecErr, schemaErr error) {
	return decodeWithin(pl, val, data, v, 0)
}

// decodeWithin is decodeChecked with the decompressed size bounded by limit (0: the
// pipeline's MaxDecompressed).
func decodeWithin(pl *codec.Pipeline, val Validator, data []byte, v any, limit int) (codecErr, schemaErr error) {
	if val == nil && limit == 0 {
		if v == nil {
			return nil, nil
		}
		return pl.Unmarshal(data, v), nil
	}
	raw, err := pl.OpenLimit(data, limit)
	if err != nil {
		return err, nil
	}
	defer raw.Release()
	if val == nil {
		if v == nil {
			return nil, nil
		}
		return pl.Decode(raw.Raw, v), nil
	}
	if a := acceptor(val, pl); a != nil && v != nil {
		if _, ok := pl.Serializer().(codec.ExactUnmarshaler); ok {
			// Decoded first: a message that is exactly what the serializer writes for the
			// value it holds passes when the value does. Any other is checked from its
			// bytes, for the verdict and its reasons.
			exact, err := pl.DecodeExact(raw.Raw, v)
			if err == nil && exact && a.AcceptsEncoded(pl.Serializer().Name(), v) {
				return nil, nil
			}
			if codecErr, schemaErr = checkRaw(val, pl, raw.Raw); codecErr != nil || schemaErr != nil {
				// What was decoded from a refused message is not handed over.
				if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && !rv.IsNil() {
					rv.Elem().SetZero()
				}
				return codecErr, schemaErr
			}
			return err, nil
		}
	}
	if codecErr, schemaErr = checkRaw(val, pl, raw.Raw); codecErr != nil || schemaErr != nil {
		return codecErr, schemaErr
	}
	if v == nil {
		return nil, nil
	}
	// checkRaw read every header and length under pl's limits: the decoder need not
	// read them again.
	return pl.DecodeVerified(raw.Raw, v), nil
}

// checkRaw checks raw, a serialized message of pl within its limits, against val: from
// the bytes where val can (BytesValidator) and pl decodes with the limits that path
// uses, else by decoding a JSON-ready value. codecErr says raw does not decode.
func checkRaw(val Validator, pl *codec.Pipeline, raw []byte) (codecErr, schemaErr error) {
	if bv, ok := val.(BytesValidator); ok {
		if l := pl.Limits(); l.MaxDepth == 0 || l.MaxDepth == codec.DefaultMaxDepth {
			handled, err := bv.ValidateEncoded(pl.Serializer().Name(), raw)
			if handled {
				if errors.Is(err, codec.ErrCorrupt) || errors.Is(err, codec.ErrTooLarge) || errors.Is(err, codec.ErrTooDeep) {
					return err, nil
				}
				return nil, err
			}
		}
	}
	value, err := pl.DecodeValue(raw)
	if err != nil {
		return err, nil
	}
	return nil, val.Validate(value)
}

// schemaFailure turns a validator's refusal into a *Error with code, naming the schema
// (service@version) and every failing pointer. what says which message failed, e.g.
// "request" or "response from tcp://127.0.0.1:4100".
func schemaFailure(err error, code Code, method, what string) *Error {
	e := &Error{Code: code, Method: method, Message: what + " fails its schema", err: err}
	var own *Error // a custom Validator may refuse with an *Error listing its failures
	if svc, fs, ok := failuresOf(err); ok {
		e.Service, e.Failures = svc, fs
		e.Message = what + " fails the schema of " + svc
	} else if errors.As(err, &own) && len(own.Failures) > 0 {
		e.Service, e.Failures = own.Service, own.Failures
		if e.Service != "" {
			e.Message = what + " fails the schema of " + e.Service
		}
	} else {
		e.Message += ": " + err.Error()
	}
	return e
}
