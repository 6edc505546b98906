// Package jsonone decodes input that must hold exactly one JSON value, numbers kept as
// json.Number (so that they pass to msgpack exactly), and says where a decoding error
// stands. The command line and the sidecar read their JSON through it; each words its
// own errors around the ones it returns: their messages are predicates ("is not valid
// JSON: …"), to follow the name of what was read ("the argument", "body").
package jsonone

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrEmpty: the input holds nothing but white space.
var ErrEmpty = errors.New("no JSON value")

// InvalidError: the input does not start with a valid JSON value. Its message names the
// byte offset of the error (Describe).
type InvalidError struct {
	Err error // the decoder's error
	n   int   // the input's length
}

func (e *InvalidError) Error() string { return "is not valid JSON: " + Describe(e.Err, e.n) }

func (e *InvalidError) Unwrap() error { return e.Err }

// TrailingError: a valid JSON value is followed by more than white space, from Offset on.
type TrailingError struct {
	Offset int64
}

func (e *TrailingError) Error() string {
	return fmt.Sprintf("holds more than one JSON value (offset %d)", e.Offset)
}

// Decode decodes the one JSON value of data. Its errors are ErrEmpty, an *InvalidError or
// a *TrailingError.
func Decode(data []byte) (any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, ErrEmpty
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &InvalidError{Err: err, n: len(data)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &TrailingError{Offset: dec.InputOffset()}
	}
	return v, nil
}

// Describe names the byte offset of a decoding error of encoding/json; n is the input's
// length.
func Describe(err error, n int) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (offset %d)", se, se.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Sprintf("unexpected end of input (offset %d)", n)
	}
	return err.Error()
}
