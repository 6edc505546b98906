package httpchan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/jesus-go/jesus/channel/codes"

	"github.com/jesus-go/jesus/channel"
)

// StatusFromCode returns the HTTP status that carries an error code (see codes.Code.HTTPStatus).
func StatusFromCode(code string) int { return codes.Code(code).HTTPStatus() }

// CodeFromStatus guesses the error code of a status when the reply has no
// Jesus-Error-Code (see codes.FromHTTPStatus).
func CodeFromStatus(status int) string { return string(codes.FromHTTPStatus(status)) }

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
