package async

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/jesus-go/jesus/jesus"
)

// Responder delivers answers to response hooks: to a method hook with an ack-mode call
// over Client (so any live instance of the caller's service takes it), to a URL hook
// with an HTTP POST. It retries while the hook cannot be reached, until the hook's
// deadline (or MaxWait), so that an answer survives a restart of the caller as long as
// an instance of it comes back in time. Methods are safe for concurrent use.
type Responder struct {
	client  *jesus.Client
	http    *http.Client
	maxWait time.Duration
	log     *slog.Logger

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
	stop   context.Context
	cancel context.CancelFunc
}

// ResponderConfig configures a Responder.
type ResponderConfig struct {
	Client  *jesus.Client // reaches method hooks, e.g. with a registry resolver; nil: URL hooks only
	HTTP    *http.Client  // reaches URL hooks (default: 10 s per attempt)
	MaxWait time.Duration // how long to keep trying a hook without a deadline (1 min)
	Logger  *slog.Logger  // nil: discard
}

// NewResponder returns a responder.
func NewResponder(cfg ResponderConfig) *Responder {
	r := &Responder{client: cfg.Client, http: cfg.HTTP, maxWait: cfg.MaxWait, log: cfg.Logger}
	if r.http == nil {
		r.http = &http.Client{Timeout: 10 * time.Second}
	}
	if r.maxWait <= 0 {
		r.maxWait = time.Minute
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.stop, r.cancel = context.WithCancel(context.Background())
	return r
}

// Respond delivers the answer to h: result on success, err (a *jesus.Error keeps its
// code) on failure. It returns once the hook took it, or with the last error when the
// hook's deadline, MaxWait or ctx ended first, or the hook refused it for good.
func (r *Responder) Respond(ctx context.Context, h Hook, result any, err error) error {
	msg := answerMsg{ID: h.ID, Tag: h.Tag}
	if err != nil {
		msg.Error = errorOf(err)
	} else {
		msg.Result = result
	}
	deadline := time.Now().Add(r.maxWait)
	if !h.Deadline.IsZero() {
		deadline = h.Deadline
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	backoff := 50 * time.Millisecond
	for {
		last, permanent := r.once(ctx, h, &msg)
		if last == nil || permanent {
			return last
		}
		r.log.Debug("async: hook not reached yet", "hook", h.String(), "err", last)
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(backoff*2, 2*time.Second)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return jesus.Errorf(jesus.CodeDeadlineExceeded, "async: answer %s not delivered to %s before the hook's deadline: %v", h.ID, h.Target, last)
		case <-r.stop.Done():
			t.Stop()
			return jesus.Errorf(jesus.CodeUnavailable, "async: responder closed before answer %s reached %s: %v", h.ID, h.Target, last)
		case <-t.C:
		}
	}
}

// RespondLater delivers in the background; Shutdown waits for it.
func (r *Responder) RespondLater(h Hook, result any, err error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.log.Warn("async: responder closed; answer dropped", "hook", h.String())
		return
	}
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		if e := r.Respond(r.stop, h, result, err); e != nil {
			r.log.Warn("async: answer not delivered", "hook", h.String(), "err", e)
		}
	}()
}

// once tries one delivery; permanent says that retrying cannot help.
func (r *Responder) once(ctx context.Context, h Hook, msg *answerMsg) (err error, permanent bool) {
	if m := h.Method(); m != "" {
		if r.client == nil {
			return jesus.Errorf(jesus.CodeFailedPrecondition, "async: responder has no client for method hook %s", h.Target), true
		}
		err := r.client.Invoke(ctx, m, jesus.ModeAck, msg, nil)
		switch jesus.CodeOf(err) {
		case "", jesus.CodeUnavailable, jesus.CodeDeadlineExceeded, jesus.CodeResourceExhausted, jesus.CodeCanceled:
			return err, false
		}
		return err, true
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return jesus.Errorf(jesus.CodeInvalidArgument, "async: answer %s cannot be written as JSON: %v", h.ID, err), true
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.Target, bytes.NewReader(body))
	if err != nil {
		return jesus.Errorf(jesus.CodeInvalidArgument, "async: hook %s: %v", h.Target, err), true
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.http.Do(req)
	if err != nil {
		return jesus.Errorf(jesus.CodeUnavailable, "async: POST %s: %v", h.Target, err), false
	}
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return nil, false
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return jesus.Errorf(jesus.CodeUnavailable, "async: POST %s: HTTP %d: %s", h.Target, resp.StatusCode, text), false
	}
	return jesus.Errorf(jesus.CodeFailedPrecondition, "async: POST %s refused the answer: HTTP %d: %s", h.Target, resp.StatusCode, text), true
}

// Shutdown waits for the answers given to RespondLater, or until ctx ends (then it
// stops retrying them). Repeat-safe.
func (r *Responder) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		r.cancel()
		return nil
	case <-ctx.Done():
		r.cancel()
		<-done
		return ctx.Err()
	}
}

// Handle registers a method whose callers may give a response hook: it is declared with
// mode ack; h runs after the ack, and its result or error goes to the hook. A request
// without a hook just runs h (the result is dropped, an error is logged by the server).
func Handle[Req, Res any](srv *jesus.Server, name string, r *Responder, h func(ctx context.Context, req Req) (Res, error)) {
	jesus.HandleOneWay(srv, name, func(ctx context.Context, req Req) error {
		hook, ok, err := HookFrom(ctx)
		if err != nil {
			return err
		}
		res, herr := h(ctx, req)
		if !ok {
			return herr
		}
		if err := r.Respond(context.WithoutCancel(ctx), hook, res, herr); err != nil {
			return fmt.Errorf("async: %s: %w", name, err)
		}
		return nil
	})
}
