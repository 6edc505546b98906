package sidecar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/jesus-go/jesus/channel/httpchan"
	"github.com/jesus-go/jesus/internal/jsonone"
	"github.com/jesus-go/jesus/jesus"
)

// errorJSON is the body of every error reply, the same as the http channel's
// (PROTOCOL.md, section 4.2): code, message, and details naming the service, the
// method and every failing JSON pointer.
type errorJSON struct {
	Code    jesus.Code    `json:"code"`
	Message string        `json:"message"`
	Details *errorDetails `json:"details,omitempty"`
}

type errorDetails struct {
	Service  string          `json:"service,omitempty"`
	Method   string          `json:"method,omitempty"`
	Failures []jesus.Failure `json:"failures,omitempty"`
}

// toErrorJSON converts any error to the wire form.
func toErrorJSON(err error) errorJSON {
	je := jesus.AsError(err)
	out := errorJSON{Code: je.Code, Message: je.Message}
	if out.Code == "" || !out.Code.Valid() {
		out.Code = jesus.CodeUnknown
	}
	if out.Message == "" {
		out.Message = je.Error()
	}
	d := errorDetails{Service: je.Service, Method: je.Method, Failures: je.Failures}
	if d.Service != "" || d.Method != "" || len(d.Failures) > 0 {
		out.Details = &d
	}
	if len(d.Failures) > 0 && !strings.Contains(out.Message, d.Failures[0].Message) {
		// One line a person can act on: the method and the first failing pointer.
		f := d.Failures[0]
		ptr := f.Pointer
		if ptr == "" {
			ptr = "(root)"
		}
		if d.Method != "" && !strings.Contains(out.Message, d.Method) {
			out.Message += " (" + d.Method + ")"
		}
		out.Message += ": " + ptr + ": " + f.Message
		if n := len(d.Failures) - 1; n > 0 {
			out.Message += fmt.Sprintf(" (and %d more in details)", n)
		}
	}
	return out
}

// marshal is json.Marshal without HTML escaping: the API speaks to programs, and "<"
// in a schema message should read as "<".
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// writeError answers err with the status of its code, Jesus-Error-Code and the JSON body.
func writeError(w http.ResponseWriter, err error) {
	e := toErrorJSON(err)
	b, _ := marshal(e) // plain strings and slices always marshal
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set(httpchan.HeaderErrorCode, string(e.Code))
	h.Del("Content-Length")
	status := httpchan.StatusFromCode(string(e.Code))
	if errors.Is(err, errTooLarge) {
		status = http.StatusRequestEntityTooLarge
	}
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		writeError(w, jesus.Errorf(jesus.CodeInternal, "sidecar: encoding the reply: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// errTooLarge marks a body over the limit: its reply is 413, as the http channel's.
var errTooLarge = errors.New("body too large")

// readBody reads r's body, at most limit bytes: more is resource_exhausted (413).
func readBody(r *http.Request, limit int64, what string) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, jesus.Errorf(jesus.CodeResourceExhausted, "sidecar: %s: %w: %d bytes, the limit is %d", what, errTooLarge, r.ContentLength, limit)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: %s: reading the body: %v", what, err)
	}
	if int64(len(b)) > limit {
		return nil, jesus.Errorf(jesus.CodeResourceExhausted, "sidecar: %s: %w: more than %d bytes, the limit", what, errTooLarge, limit)
	}
	return b, nil
}

// body reads r's body within MaxBody and within the total of MaxBodies for all requests
// in flight; release gives the bytes back once the request is done with them.
func (s *Sidecar) body(r *http.Request, what string) (b []byte, release func(), err error) {
	want := s.cfg.MaxBody
	if r.ContentLength >= 0 && r.ContentLength <= want {
		want = r.ContentLength
	}
	if used := s.bodies.Add(want); used > s.cfg.MaxBodies {
		s.bodies.Add(-want)
		return nil, nil, jesus.Errorf(jesus.CodeResourceExhausted, "sidecar: %s: %d bytes of request bodies in flight, the limit is %d; retry", what, used-want, s.cfg.MaxBodies)
	}
	b, err = readBody(r, s.cfg.MaxBody, what)
	if err != nil {
		s.bodies.Add(-want)
		return nil, nil, err
	}
	// Hold what the body really takes (a chunked one reserved the maximum).
	s.bodies.Add(int64(len(b)) - want)
	held := int64(len(b))
	var once sync.Once
	return b, func() { once.Do(func() { s.bodies.Add(-held) }) }, nil
}

// decodeJSON decodes exactly one JSON value of data, numbers kept as json.Number (so
// that they pass to msgpack channels as numbers, exactly).
func decodeJSON(data []byte, what string) (any, error) {
	v, err := jsonone.Decode(data)
	if errors.Is(err, jsonone.ErrEmpty) {
		return nil, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: %s: empty body, want one JSON value", what)
	}
	if err != nil {
		return nil, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: %s: body %v", what, err)
	}
	return v, nil
}

// errorFromReply turns an app's error reply (status ≥ 300, body maybe the JSON above)
// into a *jesus.Error, as the http channel's client does.
func errorFromReply(status int, h http.Header, body []byte, where string) *jesus.Error {
	var e errorJSON
	if err := json.Unmarshal(body, &e); err == nil && e.Code != "" {
		code := e.Code
		if !code.Valid() {
			code = jesus.CodeUnknown
		}
		out := jesus.NewError(code, e.Message)
		if e.Details != nil {
			out.Failures = e.Details.Failures
		}
		return out
	}
	code := jesus.Code(h.Get(httpchan.HeaderErrorCode))
	if !code.Valid() {
		code = jesus.Code(httpchan.CodeFromStatus(status))
	}
	snippet := bytes.TrimSpace(body)
	if len(snippet) > 200 {
		snippet = snippet[:200]
	}
	return jesus.Errorf(code, "sidecar: %s answered %d: %q", where, status, snippet)
}
