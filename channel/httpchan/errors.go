package httpchan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/jesus-go/jesus/channel"
)

// StatusFromCode returns the HTTP status that carries an error code.
func StatusFromCode(code string) int {
	switch code {
	case "invalid_argument":
		return http.StatusBadRequest
	case "not_found":
		return http.StatusNotFound
	case "unimplemented":
		return http.StatusNotImplemented
	case "unavailable":
		return http.StatusServiceUnavailable
	case "bad_response":
		// The reply of a receiver further on broke the contract: the gateway's status.
		return http.StatusBadGateway
	case "deadline_exceeded":
		return http.StatusGatewayTimeout
	case "resource_exhausted":
		return http.StatusTooManyRequests
	case "canceled":
		return StatusCanceled
	case "incompatible", "already_exists":
		return http.StatusConflict
	case "permission_denied":
		return http.StatusForbidden
	case "unauthenticated":
		return http.StatusUnauthorized
	case "failed_precondition":
		return http.StatusPreconditionFailed
	}
	return http.StatusInternalServerError
}

// CodeFromStatus guesses the error code of a status when the reply has no
// Jesus-Error-Code (e.g. a proxy answered instead of a jesus server). A bare 502 is a
// proxy that could not reach the server, so unavailable; only a reply that names the code
// (body or Jesus-Error-Code) is bad_response.
func CodeFromStatus(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusUnsupportedMediaType:
		return "invalid_argument"
	case http.StatusUnauthorized:
		return "unauthenticated"
	case http.StatusForbidden:
		return "permission_denied"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed, http.StatusNotImplemented:
		return "unimplemented"
	case http.StatusConflict:
		return "already_exists"
	case http.StatusPreconditionFailed:
		return "failed_precondition"
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return "resource_exhausted"
	case StatusCanceled:
		return "canceled"
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return "deadline_exceeded"
	case http.StatusBadGateway, http.StatusServiceUnavailable:
		return "unavailable"
	}
	return "internal"
}

// errorBody is the JSON body of an error reply.
func errorBody(code, msg string, details []byte) []byte {
	b := make([]byte, 0, 64+len(msg)+len(details))
	b = append(b, `{"code":`...)
	b = appendJSONString(b, code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, msg)
	if len(details) > 0 {
		b = append(b, `,"details":`...)
		if json.Valid(details) {
			b = append(b, details...)
		} else {
			b = appendJSONString(b, string(details))
		}
	}
	return append(b, "}\n"...)
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

type jsonError struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Details json.RawMessage `json:"details"`
}

// parseErrorReply turns an error status and its body into a TypeError envelope.
func parseErrorReply(status int, h http.Header, body []byte, e *channel.Envelope) {
	e.Type = channel.TypeError
	var je jsonError
	if err := json.Unmarshal(body, &je); err == nil && je.Code != "" {
		e.ErrCode, e.ErrMessage = je.Code, je.Message
		if len(je.Details) > 0 && string(je.Details) != "null" {
			e.ErrDetails = append([]byte(nil), bytes.TrimSpace(je.Details)...)
		}
		return
	}
	e.ErrCode = headerValue(h, HeaderErrorCode)
	if e.ErrCode == "" {
		e.ErrCode = CodeFromStatus(status)
	}
	snippet := string(bytes.TrimSpace(body))
	if len(snippet) > 200 {
		snippet = snippet[:200] + "..."
	}
	e.ErrMessage = fmt.Sprintf("httpchan: HTTP %d %s", status, http.StatusText(status))
	if snippet != "" {
		e.ErrMessage += ": " + snippet
	}
}
