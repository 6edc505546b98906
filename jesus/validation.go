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

// BytesValidator is implemented by a Validator that can check an encoded message without
// decoding it into a value first (an optional ability, found by type assertion).
type BytesValidator interface {
	// ValidateEncoded checks raw, an uncompressed message written by the named serializer
	// ("json", "msgpack"), with the verdict Validate would give for its decoded value.
	// handled is false, and err nil, for a serializer it does not read. A message that does
	// not decode gets an error wrapping codec.ErrCorrupt, codec.ErrTooLarge or
	// codec.ErrTooDeep; one that decodes but fails the schema gets what Validate returns.
	ValidateEncoded(serializer string, raw []byte) (handled bool, err error)
}

// validate checks data against v's schema for method's part, when v has one: from the
// encoded bytes where the validator can, else by decoding data into a JSON-ready value.
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
	var decodeErr, err error
	handled := false
	if bv, ok := val.(BytesValidator); ok {
		handled, decodeErr, err = validateEncoded(bv, pl, data)
	}
	if !handled {
		var value any
		if value, decodeErr = pl.UnmarshalValue(data); decodeErr == nil {
			err = val.Validate(value)
		}
	}
	if decodeErr != nil {
		return &Error{Code: codecCode(decodeErr), Method: method, Message: fmt.Sprintf("%s: decode for validation (%s): %v", p, pl.Name(), decodeErr), err: decodeErr}
	}
	if err != nil {
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

// validateEncoded decompresses data and hands it to bv, when the pipeline's limits are
// those the encoded path decodes with (a pipeline with its own depth limit, or an input
// over the size limit, takes the decoding path, which reports it). It tells decode
// failures (decompression, or bv's errors wrapping codec's) from schema failures.
func validateEncoded(bv BytesValidator, pl *codec.Pipeline, data []byte) (handled bool, decodeErr, err error) {
	l := pl.Limits()
	if l.MaxDepth != 0 && l.MaxDepth != codec.DefaultMaxDepth {
		return false, nil, nil
	}
	raw := data
	if pl.Compressor().Name() == codec.CompressorNone {
		if l.MaxDecompressed > 0 && len(data) > l.MaxDecompressed {
			return false, nil, nil
		}
	} else if raw, err = pl.Decompress(nil, data); err != nil {
		return true, err, nil
	}
	handled, err = bv.ValidateEncoded(pl.Serializer().Name(), raw)
	if errors.Is(err, codec.ErrCorrupt) || errors.Is(err, codec.ErrTooLarge) || errors.Is(err, codec.ErrTooDeep) {
		return handled, err, nil
	}
	return handled, nil, err
}
