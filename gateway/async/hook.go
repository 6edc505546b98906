package async

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jesus-go/jesus/jesus"
)

// Keys of Meta.Extra that carry a response hook on a request (PROTOCOL.md, section 12).
// Over http they travel as Jesus-Meta-Hook, Jesus-Meta-Hook-Id, ...; keys are read
// without regard to case.
const (
	ExtraHook         = "hook"          // where the answer goes: "http(s)://..." or "jesus:service.method"
	ExtraHookID       = "hook-id"       // the request's id, echoed in the answer
	ExtraHookTag      = "hook-tag"      // optional: which handler of the caller takes the answer
	ExtraHookDeadline = "hook-deadline" // optional: Unix milliseconds after which the caller no longer waits
)

// Limits of a hook as a receiver accepts it.
const (
	maxTarget = 1024
	maxID     = 64
	maxTag    = 64
)

// Hook is where and how the answer to one request is delivered.
type Hook struct {
	Target   string    // "http://...", "https://..." or "jesus:service.method"
	ID       string    // the request's id
	Tag      string    // the caller's handler for the answer, if named
	Deadline time.Time // zero: the caller gave none
}

// Method returns the "service.method" of a method hook, or "".
func (h Hook) Method() string {
	if m, ok := strings.CutPrefix(h.Target, "jesus:"); ok {
		return m
	}
	return ""
}

// HookFrom returns the response hook of the request a handler is serving, if it has one.
// A receiver that answers later keeps it and passes it to Responder.Respond.
func HookFrom(ctx context.Context) (Hook, bool, error) {
	msg, ok := jesus.MsgFromContext(ctx)
	if !ok || len(msg.Meta.Extra) == 0 {
		return Hook{}, false, nil
	}
	h, err := ParseHook(msg.Meta.Extra)
	if err != nil || h.Target == "" {
		return Hook{}, false, err
	}
	return h, true, nil
}

// ParseHook reads a hook from a request's extra meta; a request without one gives the
// zero Hook. A hook that is malformed gives an invalid_argument error.
func ParseHook(extra map[string]string) (Hook, error) {
	get := func(k string) string {
		if v, ok := extra[k]; ok {
			return v
		}
		for kk, v := range extra {
			if strings.EqualFold(kk, k) {
				return v
			}
		}
		return ""
	}
	h := Hook{Target: get(ExtraHook), ID: get(ExtraHookID), Tag: get(ExtraHookTag)}
	if h.Target == "" {
		return Hook{}, nil
	}
	bad := func(format string, args ...any) (Hook, error) {
		return Hook{}, jesus.Errorf(jesus.CodeInvalidArgument, "async: hook: "+format, args...)
	}
	switch {
	case len(h.Target) > maxTarget:
		return bad("target of %d bytes; at most %d", len(h.Target), maxTarget)
	case h.ID == "" || len(h.ID) > maxID:
		return bad("%s of %d bytes; want 1 to %d", ExtraHookID, len(h.ID), maxID)
	case len(h.Tag) > maxTag:
		return bad("%s of %d bytes; at most %d", ExtraHookTag, len(h.Tag), maxTag)
	}
	if m := h.Method(); m != "" {
		svc, name, ok := strings.Cut(m, ".")
		if !ok || svc == "" || name == "" {
			return bad("%q is not jesus:service.method", h.Target)
		}
	} else {
		u, err := url.Parse(h.Target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("%q is neither an http(s) URL nor jesus:service.method", h.Target)
		}
	}
	if s := get(ExtraHookDeadline); s != "" {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil || ms <= 0 {
			return bad("%s %q is not Unix milliseconds", ExtraHookDeadline, s)
		}
		h.Deadline = time.UnixMilli(ms)
	}
	return h, nil
}

// extra returns the meta entries that carry h.
func (h Hook) extra() map[string]string {
	m := map[string]string{ExtraHook: h.Target, ExtraHookID: h.ID}
	if h.Tag != "" {
		m[ExtraHookTag] = h.Tag
	}
	if !h.Deadline.IsZero() {
		m[ExtraHookDeadline] = strconv.FormatInt(h.Deadline.UnixMilli(), 10)
	}
	return m
}

// Answer is what a hook receives: the id of the request, the caller's tag, and the
// result (JSON) or the error.
type Answer struct {
	ID     string          `json:"id"`
	Tag    string          `json:"tag,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *AnswerError    `json:"error,omitempty"`
}

// AnswerError is the error of a failed request, as the http channel writes errors.
type AnswerError struct {
	Code     string          `json:"code"`
	Message  string          `json:"message"`
	Failures []jesus.Failure `json:"failures,omitempty"`
}

// Err returns the answer's error as a *jesus.Error (Remote set), or nil.
func (a *Answer) Err() error {
	if a.Error == nil {
		return nil
	}
	c := jesus.Code(a.Error.Code)
	if !c.Valid() {
		c = jesus.CodeUnknown
	}
	return &jesus.Error{Code: c, Message: a.Error.Message, Failures: a.Error.Failures, Remote: true}
}

// Decode decodes the result into v.
func (a *Answer) Decode(v any) error {
	if a.Error != nil {
		return a.Err()
	}
	return json.Unmarshal(a.Result, v)
}

// maxAnswer bounds an answer's JSON.
const maxAnswer = 4 << 20

// parseAnswer decodes and checks an answer's JSON.
func parseAnswer(data []byte) (*Answer, error) {
	if len(data) > maxAnswer {
		return nil, jesus.Errorf(jesus.CodeResourceExhausted, "async: answer of %d bytes exceeds the limit of %d", len(data), maxAnswer)
	}
	var a Answer
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, jesus.Errorf(jesus.CodeInvalidArgument, "async: answer is not JSON {\"id\",\"result\"|\"error\"}: %v", err)
	}
	if a.ID == "" || len(a.ID) > maxID || len(a.Tag) > maxTag {
		return nil, jesus.Errorf(jesus.CodeInvalidArgument, "async: answer id of %d bytes, tag of %d; want 1 to %d and at most %d", len(a.ID), len(a.Tag), maxID, maxTag)
	}
	if a.Error != nil && !jesus.Code(a.Error.Code).Valid() {
		a.Error.Code = string(jesus.CodeUnknown)
	}
	return &a, nil
}

// hookKey carries an outgoing hook from Tracker.Send to the Interceptor.
type hookKey struct{}

type outgoing struct {
	hook Hook
	used atomic.Bool
}

// Interceptor returns the client interceptor that puts the hook of Tracker.Send on the
// request's meta. A client that Send uses must have it (jesus.WithInterceptors).
func Interceptor() jesus.Interceptor {
	return jesus.UnaryInterceptorFunc(func(next jesus.UnaryFunc) jesus.UnaryFunc {
		return func(ctx context.Context, call *jesus.Invocation) error {
			o, ok := ctx.Value(hookKey{}).(*outgoing)
			if !ok || call.Server {
				return next(ctx, call)
			}
			o.used.Store(true)
			extra := make(map[string]string, len(call.Meta.Extra)+4)
			for k, v := range call.Meta.Extra {
				extra[k] = v
			}
			for k, v := range o.hook.extra() {
				extra[k] = v
			}
			call.Meta.Extra = extra
			return next(ctx, call)
		}
	})
}

func errorOf(err error) *AnswerError {
	e := jesus.AsError(err)
	msg := e.Message
	if msg == "" {
		msg = e.Error()
	}
	return &AnswerError{Code: string(e.Code), Message: msg, Failures: e.Failures}
}

func (h Hook) String() string { return fmt.Sprintf("%s (id %s)", h.Target, h.ID) }

// WithHook returns ctx carrying h for the requests sent with it over a client that has
// Interceptor(): each carries the hook in its meta, as with Tracker.Send, but nothing here
// tracks the answer. It is for callers that take answers elsewhere, such as the sidecar,
// which passes on the hook of an application in another language. h is checked as a
// receiver checks it.
func WithHook(ctx context.Context, h Hook) (context.Context, error) {
	if _, err := ParseHook(h.extra()); err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, hookKey{}, &outgoing{hook: h}), nil
}
