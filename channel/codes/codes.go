// Package codes defines the closed set of error codes of jesus, once, for every layer:
// the transports put them on the wire, package jesus carries them in its errors, and the
// http channel maps them to and from HTTP statuses. The strings are part of the wire
// format (PROTOCOL.md §7); their meaning follows gRPC's where the names agree.
package codes

import "net/http"

// Code is one error code. The zero value is not a code.
type Code string

// The codes.
const (
	Canceled           Code = "canceled"            // the caller gave up
	Unknown            Code = "unknown"             // an error without a code
	InvalidArgument    Code = "invalid_argument"    // the request is malformed or fails its schema
	DeadlineExceeded   Code = "deadline_exceeded"   // the deadline passed before the call completed
	NotFound           Code = "not_found"           // a thing the call names does not exist
	AlreadyExists      Code = "already_exists"      // a thing the call creates exists already
	PermissionDenied   Code = "permission_denied"   // the caller may not do this
	ResourceExhausted  Code = "resource_exhausted"  // a limit was hit (concurrency, size, memory)
	FailedPrecondition Code = "failed_precondition" // the system is not in a state to do this
	Unimplemented      Code = "unimplemented"       // no such method, or not in this mode or over this channel
	Internal           Code = "internal"            // a bug, e.g. a handler panic or a response that fails its schema
	Unavailable        Code = "unavailable"         // no instance, connection lost, server shutting down
	Unauthenticated    Code = "unauthenticated"     // the caller is not known
	Incompatible       Code = "incompatible"        // caller and receiver schemas do not agree
	BadResponse        Code = "bad_response"        // the receiver broke the contract: its reply fails the schema the caller expects
)

// StatusCanceled is the HTTP status of a call the caller cancelled (nginx's "client
// closed request").
const StatusCanceled = 499

// status maps every code to the HTTP status that carries it.
var status = map[Code]int{
	Canceled:           StatusCanceled,
	Unknown:            http.StatusInternalServerError,
	InvalidArgument:    http.StatusBadRequest,
	DeadlineExceeded:   http.StatusGatewayTimeout,
	NotFound:           http.StatusNotFound,
	AlreadyExists:      http.StatusConflict,
	PermissionDenied:   http.StatusForbidden,
	ResourceExhausted:  http.StatusTooManyRequests,
	FailedPrecondition: http.StatusPreconditionFailed,
	Unimplemented:      http.StatusNotImplemented,
	Internal:           http.StatusInternalServerError,
	Unavailable:        http.StatusServiceUnavailable,
	Unauthenticated:    http.StatusUnauthorized,
	Incompatible:       http.StatusConflict,
	// The reply of a receiver further on broke the contract: the gateway's status.
	BadResponse: http.StatusBadGateway,
}

// Valid reports whether c is one of the codes above.
func (c Code) Valid() bool {
	_, ok := status[c]
	return ok
}

// HTTPStatus returns the HTTP status that carries c; 500 for a string that is not a code.
func (c Code) HTTPStatus() int {
	if s, ok := status[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// FromHTTPStatus guesses the code of an HTTP status when a reply names none (e.g. a proxy
// answered instead of a jesus server). A bare 502 is a proxy that could not reach the
// server, so unavailable; only a reply that names its code is bad_response.
func FromHTTPStatus(s int) Code {
	if c, ok := fromStatus[s]; ok {
		return c
	}
	return Internal
}

// fromStatus maps the HTTP statuses FromHTTPStatus knows to their codes.
var fromStatus = map[int]Code{
	http.StatusBadRequest:            InvalidArgument,
	http.StatusUnsupportedMediaType:  InvalidArgument,
	http.StatusUnauthorized:          Unauthenticated,
	http.StatusForbidden:             PermissionDenied,
	http.StatusNotFound:              NotFound,
	http.StatusMethodNotAllowed:      Unimplemented,
	http.StatusNotImplemented:        Unimplemented,
	http.StatusConflict:              AlreadyExists,
	http.StatusPreconditionFailed:    FailedPrecondition,
	http.StatusRequestEntityTooLarge: ResourceExhausted,
	http.StatusTooManyRequests:       ResourceExhausted,
	StatusCanceled:                   Canceled,
	http.StatusRequestTimeout:        DeadlineExceeded,
	http.StatusGatewayTimeout:        DeadlineExceeded,
	http.StatusBadGateway:            Unavailable,
	http.StatusServiceUnavailable:    Unavailable,
}
