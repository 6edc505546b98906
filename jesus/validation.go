package jesus

import (
	"errors"
	"fmt"

	"github.com/jesus-go/jesus/codec"
)

// Validator checks one JSON-ready value (what codec.Pipeline.UnmarshalValue returns).
type Validator interface {
	Validate(v any) error
}

// Validation plugs schema checks into a Client or a Server. On a server it names the
// schemas of its own methods; on a client, those of the receivers it calls. A nil
// Validator means the part has no schema.
type Validation interface {
	// RequestValidator returns the validator of method's request data.
	RequestValidator(method string) Validator
	// ResponseValidator returns the validator of method's response data (stream: one item).
	ResponseValidator(method string) Validator
}

// FailureLister is implemented by validation errors that carry every failing pointer.
type FailureLister interface {
	error
	ValidationFailures() (service string, failures []Failure)
}

type part int

const (
	partRequest part = iota
	partResponse
)

func (p part) String() string {
	if p == partRequest {
		return "request"
	}
	return "response"
}

// validate decodes data into a JSON-ready value and checks it, when v has a schema for it.
func validate(v Validation, pl *codec.Pipeline, p part, method string, data []byte) error {
	if v == nil {
		return nil
	}
	var val Validator
	if p == partRequest {
		val = v.RequestValidator(method)
	} else {
		val = v.ResponseValidator(method)
	}
	if val == nil {
		return nil
	}
	value, err := pl.UnmarshalValue(data)
	if err != nil {
		return &Error{Code: CodeInvalidArgument, Method: method, Message: fmt.Sprintf("%s: decode for validation (%s): %v", p, pl.Name(), err), err: err}
	}
	if err := val.Validate(value); err != nil {
		e := &Error{Code: CodeInvalidArgument, Method: method, Message: p.String() + " fails its schema", err: err}
		var fl FailureLister
		if svc, fs, ok := failuresOf(err); ok {
			e.Service, e.Failures = svc, fs
			e.Message = p.String() + " fails the schema of " + svc
		} else if errors.As(err, &fl) {
			e.Service, e.Failures = fl.ValidationFailures()
		} else {
			e.Message += ": " + err.Error()
		}
		return e
	}
	return nil
}
