package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/jesus"
)

// wireJob is a job as GET /service/{name}/jobs returns it: AstroHub's {"id",
// "originalRequest"}, and what a jesus worker needs besides (PROTOCOL.md, section 11).
type wireJob struct {
	ID              string          `json:"id"`
	OriginalRequest json.RawMessage `json:"originalRequest"`
	Method          string          `json:"method,omitempty"`
	Mode            string          `json:"mode,omitempty"`
	TimeoutMs       int64           `json:"timeoutMs,omitempty"`
	Attempt         int             `json:"attempt"`
	LeaseMs         int64           `json:"leaseMs,omitempty"`
	Meta            *wireMeta       `json:"meta,omitempty"`
}

type wireMeta struct {
	CorrID string            `json:"corrid,omitempty"`
	UserID string            `json:"userid,omitempty"`
	From   string            `json:"from,omitempty"`
	Trace  string            `json:"trace,omitempty"`
	Extra  map[string]string `json:"extra,omitempty"`
}

func wireJobOf(j *job) wireJob {
	w := wireJob{ID: j.id, OriginalRequest: j.body, Method: j.method, Attempt: j.attempt}
	if len(w.OriginalRequest) == 0 {
		w.OriginalRequest = json.RawMessage("null")
	}
	if j.method != "" {
		w.Mode = j.mode.String()
	}
	if !j.deadline.IsZero() {
		w.TimeoutMs = max(time.Until(j.deadline).Milliseconds(), 1)
	}
	m := j.meta
	if m.CorrID != "" || m.UserID != "" || m.From != "" || m.Trace != "" || len(m.Extra) > 0 {
		w.Meta = &wireMeta{CorrID: m.CorrID, UserID: m.UserID, From: m.From, Trace: m.Trace, Extra: m.Extra}
	}
	return w
}

// errorBody is the JSON body of an error, the http channel's (PROTOCOL.md, section 4.2).
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details struct {
		Service  string          `json:"service,omitempty"`
		Method   string          `json:"method,omitempty"`
		Failures []jesus.Failure `json:"failures,omitempty"`
	} `json:"details,omitzero"`
}

func errorBodyOf(e *jesus.Error) errorBody {
	msg := e.Message
	if msg == "" {
		msg = e.Error()
	}
	b := errorBody{Code: string(e.Code), Message: msg}
	b.Details.Service, b.Details.Method, b.Details.Failures = e.Service, e.Method, e.Failures
	return b
}

// Limits of a job a worker accepts from a hub.
const (
	maxJobMeta    = 256 // bytes of one meta string
	maxJobMethod  = 256
	maxJobTimeout = int64(24 * time.Hour / time.Millisecond)
)

// parseJob decodes and checks a job a worker received, into the request envelope its
// server runs. It never panics and refuses what a hub would not send; with an error it
// returns the job's id when that could be read, so that the refusal can be answered.
func parseJob(data []byte, env *channel.Envelope) (id string, err error) {
	id, _, err = parseJobLease(data, env)
	return id, err
}

// parseJobLease is parseJob that also returns the job's lease (0: not given).
func parseJobLease(data []byte, env *channel.Envelope) (id string, lease time.Duration, err error) {
	var w wireJob
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&w); err != nil {
		return "", 0, fmt.Errorf("hub: job is not JSON: %w", err)
	}
	if dec.More() {
		return "", 0, fmt.Errorf("hub: job has data after its JSON object")
	}
	if w.ID == "" || len(w.ID) > 64 {
		return "", 0, fmt.Errorf("hub: job id of %d bytes; want 1 to 64", len(w.ID))
	}
	// From here on the id is good: the worker answers the refusal, so the caller hears it.
	switch {
	case len(w.OriginalRequest) == 0:
		return w.ID, 0, fmt.Errorf("hub: job %s has no originalRequest", w.ID)
	case w.Method == "" || len(w.Method) > maxJobMethod:
		return w.ID, 0, fmt.Errorf("hub: job %s names no method: POST /service/<service>.<method> to reach a jesus service", w.ID)
	case w.TimeoutMs < 0 || w.TimeoutMs > maxJobTimeout:
		return w.ID, 0, fmt.Errorf("hub: job %s: timeoutMs %d outside 0..%d", w.ID, w.TimeoutMs, maxJobTimeout)
	}
	mode := channel.ModeResponse
	if w.Mode != "" {
		if mode, err = channel.ParseMode(w.Mode); err != nil || mode == channel.ModeStream {
			return w.ID, 0, fmt.Errorf("hub: job %s: mode %q is not noResponse, ack or response", w.ID, w.Mode)
		}
	}
	env.Reset()
	env.Type, env.Mode, env.Method, env.Codec = channel.TypeRequest, mode, w.Method, "json"
	env.Timeout = time.Duration(w.TimeoutMs) * time.Millisecond
	env.Data = w.OriginalRequest
	if m := w.Meta; m != nil {
		for _, s := range []string{m.CorrID, m.UserID, m.From, m.Trace} {
			if len(s) > maxJobMeta {
				return w.ID, 0, fmt.Errorf("hub: job %s: a meta string of %d bytes; at most %d", w.ID, len(s), maxJobMeta)
			}
		}
		if len(m.Extra) > channel.MaxExtra {
			return w.ID, 0, fmt.Errorf("hub: job %s: %d extra meta entries; at most %d", w.ID, len(m.Extra), channel.MaxExtra)
		}
		env.Meta = channel.Meta{CorrID: m.CorrID, UserID: m.UserID, From: m.From, Trace: m.Trace, Extra: m.Extra}
	}
	if w.LeaseMs > 0 && w.LeaseMs <= maxJobTimeout {
		lease = time.Duration(w.LeaseMs) * time.Millisecond
	}
	return w.ID, lease, nil
}
