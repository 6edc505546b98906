package sidecar

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jesus-go/jesus/gateway/async"
	"github.com/jesus-go/jesus/jesus"
)

// Response hooks through the sidecar (PROTOCOL.md §10.9): an application that calls with
// Jesus-Hook gets 202 at once and its answer later at its hook; an application that is
// called with a hook gets it as headers and answers when it is done with
// POST /v1/answer.
const (
	headerHook         = "Jesus-Hook"          // where the answer goes: an http(s) URL, or jesus:<service>.<method>
	headerHookID       = "Jesus-Hook-Id"       // the request's id (default: a new UUID, echoed in the reply)
	headerHookTag      = "Jesus-Hook-Tag"      // optional: the caller's handler for the answer
	headerHookDeadline = "Jesus-Hook-Deadline" // optional: Unix milliseconds after which the answer is not wanted
)

// hookOf reads the response hook of an API call, if it has one.
func hookOf(r *http.Request, what string) (*async.Hook, error) {
	target := r.Header.Get(headerHook)
	if target == "" {
		return nil, nil
	}
	h := &async.Hook{Target: target, ID: r.Header.Get(headerHookID), Tag: r.Header.Get(headerHookTag)}
	if h.ID == "" {
		h.ID = uuid.NewString()
	}
	if d := r.Header.Get(headerHookDeadline); d != "" {
		ms, err := strconv.ParseInt(d, 10, 64)
		if err != nil || ms <= 0 {
			return nil, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: %s: %s %q: want Unix milliseconds", what, headerHookDeadline, d)
		}
		h.Deadline = time.UnixMilli(ms)
	}
	return h, nil
}

// callWithHook sends an ack-mode call that carries the application's hook and answers
// 202 with the request's id once the receiver accepted it; the receiver sends the answer
// to the hook when it is done.
func (s *Sidecar) callWithHook(ctx context.Context, w http.ResponseWriter, cl *jesus.Client, target string, mode jesus.Mode, req any, h *async.Hook) error {
	if mode != jesus.ModeAck {
		return jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: call %s: a call with %s is sent in ack mode (the answer goes to the hook); %s is %s", target, headerHook, target, mode)
	}
	ctx, err := async.WithHook(ctx, *h)
	if err != nil {
		return jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: call %s: %s: %v", target, headerHook, err)
	}
	if err := cl.Invoke(ctx, target, jesus.ModeAck, req, nil); err != nil {
		return err
	}
	w.Header().Set(headerHookID, h.ID)
	writeJSON(w, http.StatusAccepted, map[string]string{"id": h.ID})
	return nil
}

// hookHeaders passes the hook of an incoming request on to the application it is
// forwarded to, so that it can answer later with POST /v1/answer.
func hookHeaders(ctx context.Context) http.Header {
	h, ok, err := async.HookFrom(ctx)
	if !ok || err != nil {
		return nil
	}
	out := http.Header{}
	out.Set(headerHook, h.Target)
	out.Set(headerHookID, h.ID)
	if h.Tag != "" {
		out.Set(headerHookTag, h.Tag)
	}
	if !h.Deadline.IsZero() {
		out.Set(headerHookDeadline, strconv.FormatInt(h.Deadline.UnixMilli(), 10))
	}
	return out
}

// answerBody is the body of POST /v1/answer.
type answerBody struct {
	Hook     string             `json:"hook"`
	ID       string             `json:"id"`
	Tag      string             `json:"tag,omitempty"`
	Deadline int64              `json:"deadline,omitempty"` // Unix milliseconds
	Result   json.RawMessage    `json:"result,omitempty"`
	Error    *async.AnswerError `json:"error,omitempty"`
}

// handleAnswer takes an application's answer to a request that came with a hook and
// delivers it in the background, retrying until the hook's deadline (202 at once).
func (s *Sidecar) handleAnswer(w http.ResponseWriter, r *http.Request) {
	const what = "answer"
	body, release, err := s.body(r, what)
	if err != nil {
		writeError(w, err)
		return
	}
	defer release()
	var a answerBody
	if err := json.Unmarshal(body, &a); err != nil {
		writeError(w, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: answer: the body is not {\"hook\",\"id\",\"result\"|\"error\"}: %v", err))
		return
	}
	h := async.Hook{Target: a.Hook, ID: a.ID, Tag: a.Tag}
	if a.Deadline > 0 {
		h.Deadline = time.UnixMilli(a.Deadline)
	}
	if _, err := async.WithHook(r.Context(), h); err != nil {
		writeError(w, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: answer: %v", err))
		return
	}
	var result any
	var ansErr error
	switch {
	case a.Error != nil:
		ansErr = jesus.NewError(jesus.Code(a.Error.Code), a.Error.Message)
		if !jesus.Code(a.Error.Code).Valid() {
			writeError(w, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: answer: error code %q is not one of the codes (PROTOCOL.md §7)", a.Error.Code))
			return
		}
	case len(a.Result) > 0:
		if err := json.Unmarshal(a.Result, &result); err != nil {
			writeError(w, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: answer: result: %v", err))
			return
		}
	}
	s.answers.RespondLater(h, result, ansErr)
	w.WriteHeader(http.StatusAccepted)
}
