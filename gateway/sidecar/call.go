package sidecar

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/httpchan"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
)

// Headers of the API besides those of the http channel (PROTOCOL.md section 4.1).
const (
	headerCorrID = "Jesus-Corrid"
	headerUserID = "Jesus-Userid"
	// writeTimeout bounds one write of a reply, a stream item or an event to an API
	// client: one that stops reading is cut off.
	writeTimeout = 10 * time.Second
)

func (s *Sidecar) handleCall(w http.ResponseWriter, r *http.Request) {
	target := r.PathValue("target")
	what := "call " + target
	d, method, err := s.lookupMethod(target)
	if err != nil {
		s.stats.rejected.Add(1)
		writeError(w, err)
		return
	}
	mode := d.Methods[method].Mode
	if h := r.Header.Get(httpchan.HeaderMode); h != "" {
		if mode, err = channel.ParseMode(h); err != nil {
			s.stats.rejected.Add(1)
			writeError(w, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: %s: %s %q: want noResponse, ack, response or stream", what, httpchan.HeaderMode, h))
			return
		}
	}
	cl, err := s.clientFor(r.Header.Get(httpchan.HeaderFrom))
	if err != nil {
		s.stats.rejected.Add(1)
		writeError(w, err)
		return
	}
	ctx, req, done, err := s.readRequest(r, what)
	if err != nil {
		s.stats.rejected.Add(1)
		writeError(w, err)
		return
	}
	defer done()
	w.Header().Set(headerCorrID, jesus.CorrID(ctx))
	start := time.Now()
	written := false
	hook, err := hookOf(r, what)
	if err != nil {
		s.stats.rejected.Add(1)
		writeError(w, err)
		return
	}
	switch {
	case hook != nil:
		err = s.callWithHook(ctx, w, cl, target, mode, req, hook)
		written = err == nil
	default:
		written, err = s.invokeMode(ctx, w, r, cl, target, mode, req)
	}
	s.stats.call(target, err, time.Since(start))
	if err != nil && !written {
		writeError(w, err)
	}
}

// invokeMode makes the call in mode and writes its reply; written reports whether a
// reply (or part of a stream) went out.
func (s *Sidecar) invokeMode(ctx context.Context, w http.ResponseWriter, r *http.Request, cl *jesus.Client, target string, mode jesus.Mode, req any) (written bool, err error) {
	switch mode {
	case jesus.ModeStream:
		written, err = s.stream(ctx, w, r, cl, target, req)
	case jesus.ModeResponse:
		var out any
		if err = cl.Invoke(ctx, target, mode, req, &out); err == nil {
			writeJSON(w, http.StatusOK, out)
		}
	default:
		if err = cl.Invoke(ctx, target, mode, req, nil); err == nil {
			status := http.StatusAccepted
			if mode == jesus.ModeNoResponse {
				status = http.StatusNoContent
			}
			w.WriteHeader(status)
		}
	}
	return written, err
}

// readRequest reads what every call and emit starts with: the context of its headers
// (callContext) and its body as one JSON value. done ends the context and gives the
// body's share of the in-flight bound back, once the request is answered.
func (s *Sidecar) readRequest(r *http.Request, what string) (context.Context, any, func(), error) {
	ctx, cancel, err := s.callContext(r, what)
	if err != nil {
		return nil, nil, nil, err
	}
	body, release, err := s.body(r, what)
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	v, err := decodeJSON(body, what)
	if err != nil {
		release()
		cancel()
		return nil, nil, nil, err
	}
	return ctx, v, func() { release(); cancel() }, nil
}

// lookupMethod finds the latest descriptor of target's service, as loaded by the
// discovery that validates the call, and checks that it declares the method.
func (s *Sidecar) lookupMethod(target string) (*schema.Descriptor, string, error) {
	svc, method, ok := strings.Cut(target, ".")
	if !ok || svc == "" || method == "" {
		return nil, "", jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: call %q: want /v1/call/SERVICE.METHOD", target)
	}
	ver, _, ok := s.cfg.Cache.Latest(svc)
	if !ok {
		return nil, "", jesus.Errorf(jesus.CodeNotFound, "sidecar: call %s: no service %q in the registry", target, svc)
	}
	d := s.disc.schemas().Get(svc, ver)
	if d == nil {
		// The discovery follows the same cache; for a moment it may not have loaded a
		// version just published. Sending unvalidated is not an option.
		return nil, "", jesus.Errorf(jesus.CodeUnavailable, "sidecar: call %s: the schemas of %s@%s are not loaded yet; retry", target, svc, ver)
	}
	if _, ok := d.Methods[method]; !ok {
		names := make([]string, 0, len(d.Methods))
		for m := range d.Methods {
			names = append(names, m)
		}
		sort.Strings(names)
		return nil, "", jesus.Errorf(jesus.CodeNotFound, "sidecar: call %s: %s@%s has no method %q (methods: %s)", target, svc, ver, method, strings.Join(names, ", "))
	}
	return d, method, nil
}

// callContext derives the context of a call or emit from its request: the deadline of
// Jesus-Timeout (absent: CallTimeout; 0: none), the corrid of Jesus-Corrid (absent:
// a new one) and the user of Jesus-Userid.
func (s *Sidecar) callContext(r *http.Request, what string) (context.Context, context.CancelFunc, error) {
	ctx := r.Context()
	timeout := s.cfg.CallTimeout
	if h := r.Header.Get(httpchan.HeaderTimeout); h != "" {
		ms, err := strconv.ParseUint(h, 10, 64)
		if err != nil || len(h) > 12 {
			return nil, nil, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: %s: %s %q: want decimal milliseconds (at most 12 digits)", what, httpchan.HeaderTimeout, h)
		}
		timeout = min(time.Duration(ms)*time.Millisecond, httpchan.MaxTimeout)
	}
	corr := r.Header.Get(headerCorrID)
	if corr == "" {
		corr = uuid.NewString()
	}
	ctx = jesus.WithCorrID(ctx, corr)
	if u := r.Header.Get(headerUserID); u != "" {
		ctx = jesus.WithUserID(ctx, u)
	}
	if timeout > 0 {
		c, cancel := context.WithTimeout(ctx, timeout)
		return c, cancel, nil
	}
	c, cancel := context.WithCancel(ctx)
	return c, cancel, nil
}

// clientFor returns the client that calls as the app named from (its descriptor's calls
// checked first), or the sidecar's own client when from is empty.
func (s *Sidecar) clientFor(from string) (*jesus.Client, error) {
	if from == "" {
		return s.calls, nil
	}
	s.mu.Lock()
	a := s.apps[from]
	s.mu.Unlock()
	if a == nil {
		return nil, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: %s %q names no app registered with this sidecar (see GET /v1/apps); leave it out to call as %s", httpchan.HeaderFrom, from, s.cfg.Name)
	}
	return a.client, nil
}

// stream relays a stream call as NDJSON, or as SSE when the client accepts
// text/event-stream. An error before the first item is left to the caller for an
// ordinary error reply; written reports whether the reply was begun.
func (s *Sidecar) stream(ctx context.Context, w http.ResponseWriter, r *http.Request, cl *jesus.Client, target string, req any) (written bool, _ error) {
	sse := acceptsSSE(r)
	rc := http.NewResponseController(w)
	started := false
	n := 0
	for item, err := range jesus.Stream[any, any](ctx, cl, target, req) {
		if err != nil {
			if !started {
				return false, err
			}
			e := toErrorJSON(err)
			if sse {
				_ = writeSSE(w, rc, "error", "", e)
			} else {
				_ = writeNDJSON(w, rc, map[string]any{"error": e})
			}
			return true, err
		}
		if !started {
			started = true
			if sse {
				setSSEHeaders(w)
			} else {
				w.Header().Set("Content-Type", "application/x-ndjson")
			}
			w.WriteHeader(http.StatusOK)
		}
		n++
		var werr error
		if sse {
			werr = writeSSE(w, rc, "item", "", item)
		} else {
			werr = writeNDJSON(w, rc, map[string]any{"item": item})
		}
		if werr != nil {
			// The client is gone; breaking out cancels the stream at the receiver.
			return true, jesus.Errorf(jesus.CodeCanceled, "sidecar: stream %s: writing item %d to the client: %v", target, n, werr)
		}
	}
	if !started {
		if sse {
			setSSEHeaders(w)
		} else {
			w.Header().Set("Content-Type", "application/x-ndjson")
		}
		w.WriteHeader(http.StatusOK)
	}
	if sse {
		_ = writeSSE(w, rc, "end", "", map[string]int{"items": n})
	} else {
		_ = writeNDJSON(w, rc, map[string]any{"end": map[string]int{"items": n}})
	}
	return true, nil
}

func acceptsSSE(r *http.Request) bool {
	for _, a := range r.Header.Values("Accept") {
		if strings.Contains(a, "text/event-stream") {
			return true
		}
	}
	return false
}

func setSSEHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
}

// writeNDJSON writes v as one line and flushes it, within writeTimeout.
func writeNDJSON(w http.ResponseWriter, rc *http.ResponseController, v any) error {
	b, err := marshal(v)
	if err != nil {
		b, _ = marshal(map[string]any{"error": toErrorJSON(jesus.Errorf(jesus.CodeInternal, "sidecar: item is not JSON: %v", err))})
	}
	_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := w.Write(append(b, '\n')); err != nil {
		return err
	}
	return rc.Flush()
}

// writeSSE writes v as one server-sent event (data on one line: JSON has no raw
// newlines) and flushes it, within writeTimeout.
func writeSSE(w http.ResponseWriter, rc *http.ResponseController, event, id string, v any) error {
	b, err := marshal(v)
	if err != nil {
		event = "error"
		b, _ = marshal(toErrorJSON(jesus.Errorf(jesus.CodeInternal, "sidecar: event is not JSON: %v", err)))
	}
	return writeSSERaw(w, rc, event, id, b)
}
