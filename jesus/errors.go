package jesus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jesus-go/jesus/channel/codes"

	"github.com/jesus-go/jesus/channel"
)

// Code is the stable, closed set of error codes (package codes defines it once for every
// layer). The strings are part of the wire format.
type Code = codes.Code

// The codes. Their meaning follows gRPC's where the names agree.
const (
	CodeCanceled           = codes.Canceled
	CodeUnknown            = codes.Unknown
	CodeInvalidArgument    = codes.InvalidArgument
	CodeDeadlineExceeded   = codes.DeadlineExceeded
	CodeNotFound           = codes.NotFound
	CodeAlreadyExists      = codes.AlreadyExists
	CodePermissionDenied   = codes.PermissionDenied
	CodeResourceExhausted  = codes.ResourceExhausted
	CodeFailedPrecondition = codes.FailedPrecondition
	CodeUnimplemented      = codes.Unimplemented
	CodeInternal           = codes.Internal
	CodeUnavailable        = codes.Unavailable
	CodeUnauthenticated    = codes.Unauthenticated
	CodeIncompatible       = codes.Incompatible
	CodeBadResponse        = codes.BadResponse
)

// Failure is one reason a message failed its schema.
type Failure struct {
	Pointer string `json:"pointer"`           // JSON pointer into the message data; "" is the root
	Keyword string `json:"keyword,omitempty"` // the JSON Schema keyword that failed, e.g. "required"
	Message string `json:"message"`
}

// Error is the one error type of jesus. Errors that came over the wire have Remote set.
// errors.Is(err, ErrNotFound) (any sentinel) matches by code.
type Error struct {
	Code     Code
	Message  string
	Service  string    // service the error is about, when known
	Method   string    // method or event, when known
	Failures []Failure // for schema failures: every failing pointer
	Remote   bool      // the error was sent by the peer
	err      error     // the local cause, if any
}

// Sentinels that match any *Error with the same code.
var (
	ErrCanceled           = &Error{Code: CodeCanceled}
	ErrInvalidArgument    = &Error{Code: CodeInvalidArgument}
	ErrDeadlineExceeded   = &Error{Code: CodeDeadlineExceeded}
	ErrNotFound           = &Error{Code: CodeNotFound}
	ErrAlreadyExists      = &Error{Code: CodeAlreadyExists}
	ErrPermissionDenied   = &Error{Code: CodePermissionDenied}
	ErrResourceExhausted  = &Error{Code: CodeResourceExhausted}
	ErrFailedPrecondition = &Error{Code: CodeFailedPrecondition}
	ErrUnimplemented      = &Error{Code: CodeUnimplemented}
	ErrInternal           = &Error{Code: CodeInternal}
	ErrUnavailable        = &Error{Code: CodeUnavailable}
	ErrUnauthenticated    = &Error{Code: CodeUnauthenticated}
	ErrIncompatible       = &Error{Code: CodeIncompatible}
	ErrBadResponse        = &Error{Code: CodeBadResponse}
)

// NewError returns an error with code c and a message.
func NewError(c Code, msg string) *Error { return &Error{Code: c, Message: msg} }

// Errorf returns an error with code c and a formatted message; %w wraps a cause.
func Errorf(c Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: c, Message: err.Error(), err: errors.Unwrap(err)}
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("jesus: ")
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteString(": ")
	}
	b.WriteString(string(e.Code))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	const maxListed = 10
	for i, f := range e.Failures {
		if i == maxListed {
			fmt.Fprintf(&b, "; and %d more", len(e.Failures)-maxListed)
			break
		}
		ptr := f.Pointer
		if ptr == "" {
			ptr = "/"
		}
		fmt.Fprintf(&b, "; %s", ptr)
		if f.Keyword != "" {
			fmt.Fprintf(&b, ": %s", f.Keyword)
		}
		fmt.Fprintf(&b, ": %s", f.Message)
	}
	if e.Remote {
		b.WriteString(" (remote)")
	}
	return b.String()
}

// Unwrap returns the local cause.
func (e *Error) Unwrap() error { return e.err }

// Is matches sentinels (an *Error with only a Code) by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	if t.Message == "" && t.Service == "" && t.Method == "" && t.Failures == nil && t.err == nil {
		return t.Code == e.Code
	}
	return t == e
}

// CodeOf returns the code of err: the *Error's code, canceled or deadline_exceeded for
// context errors, unknown for anything else, "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	switch {
	case errors.Is(err, context.Canceled):
		return CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return CodeDeadlineExceeded
	case errors.Is(err, channel.ErrTooLarge), errors.Is(err, channel.ErrOverloaded):
		return CodeResourceExhausted
	case errors.Is(err, channel.ErrUnsupported):
		return CodeUnimplemented
	case errors.Is(err, channel.ErrClosed):
		return CodeUnavailable
	}
	return CodeUnknown
}

// AsError converts any error to an *Error (nil stays nil), keeping the original as cause.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeOf(err), Message: err.Error(), err: err}
}

// wireDetails is the JSON document in an error envelope's errDetails field.
type wireDetails struct {
	Service  string    `json:"service,omitempty"`
	Method   string    `json:"method,omitempty"`
	Failures []Failure `json:"failures,omitempty"`
}

// toEnvelope fills an error reply.
func (e *Error) toEnvelope(env *channel.Envelope) {
	env.Type = channel.TypeError
	env.ErrCode = string(e.Code)
	env.ErrMessage = e.Message
	if e.Service != "" || e.Method != "" || len(e.Failures) > 0 {
		env.ErrDetails, _ = json.Marshal(wireDetails{Service: e.Service, Method: e.Method, Failures: e.Failures})
	}
}

// maxErrDetails bounds the error details read from a peer.
const maxErrDetails = 64 << 10

// fromEnvelope builds the remote error carried by a TypeError envelope.
func fromEnvelope(env *channel.Envelope, method string) *Error {
	e := &Error{Code: Code(env.ErrCode), Message: env.ErrMessage, Method: method, Remote: true}
	if !e.Code.Valid() {
		e.Message = fmt.Sprintf("peer sent unknown code %q: %s", env.ErrCode, env.ErrMessage)
		e.Code = CodeUnknown
	}
	if n := len(env.ErrDetails); n > 0 && n <= maxErrDetails {
		var d wireDetails
		if json.Unmarshal(env.ErrDetails, &d) == nil {
			e.Service, e.Failures = d.Service, d.Failures
			if d.Method != "" {
				e.Method = d.Method
			}
		}
	}
	return e
}

// contextError maps a context error to an *Error naming the method.
func contextError(err error, method string) *Error { return AsError(err).InMethod(method) }

// InMethod returns e naming method, keeping every other field: e itself when it names a
// method already, else a copy (e may be a sentinel or shared).
func (e *Error) InMethod(method string) *Error {
	if e.Method != "" || method == "" {
		return e
	}
	c := *e
	c.Method = method
	return &c
}
