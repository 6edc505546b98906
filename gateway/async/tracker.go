package async

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jesus-go/jesus/jesus"
)

// Handler runs when the answer to a request arrives, or its timeout passes (then the
// answer has the error deadline_exceeded). Tracked is false for an answer to a request
// this tracker did not send (an earlier instance of the service did).
type Handler func(ctx context.Context, a *Answer, tracked bool)

// Request is the tracking of one Send: its handlers and timeout.
type Request struct {
	// Tag names a handler of TrackerConfig.Tags that takes the answer; it travels with
	// the request, so that any instance of the service can handle the answer.
	Tag string
	// OnSuccess and OnError, when set, run instead of the tag's handler as long as this
	// instance is alive.
	OnSuccess, OnError Handler
	// Timeout after which OnError runs with deadline_exceeded (TrackerConfig.Timeout).
	Timeout time.Duration
}

// TrackerConfig configures a Tracker.
type TrackerConfig struct {
	// Hook is where receivers send answers: "jesus:<service>.<method>" (a method of this
	// service, served with Tracker.Handle) or an http(s) URL served by Tracker.HTTPHandler.
	Hook string
	// Tags are the handlers of answers by tag: OnSuccess and OnError.
	Tags map[string]TagHandlers
	// Timeout of a request without its own (default 1 min).
	Timeout time.Duration
	// Logger (nil: discard).
	Logger *slog.Logger
}

// TagHandlers handle the answers of one tag.
type TagHandlers struct {
	OnSuccess, OnError Handler
}

// Tracker sends requests with a response hook and runs their handlers when the answers
// (or the timeouts) come. Its methods are safe for concurrent use; handlers run on
// their own goroutines, owned by the tracker. Shutdown waits for every pending request.
type Tracker struct {
	cfg TrackerConfig
	log *slog.Logger

	mu       sync.Mutex
	pending  map[string]*pending
	expired  map[string]struct{} // ids that timed out here: a late answer is dropped
	order    []string            // expired ids, oldest first, to bound the map
	closed   bool
	idle     chan struct{} // closed when pending empties during Shutdown
	handlers sync.WaitGroup
	late     uint64
	orphans  uint64
}

type pending struct {
	req   Request
	timer *time.Timer
}

const maxExpired = 4096

// NewTracker returns a tracker that asks for answers at cfg.Hook.
func NewTracker(cfg TrackerConfig) (*Tracker, error) {
	if _, err := ParseHook(map[string]string{ExtraHook: cfg.Hook, ExtraHookID: "x"}); err != nil || cfg.Hook == "" {
		return nil, jesus.Errorf(jesus.CodeInvalidArgument, "async: tracker hook %q: want jesus:service.method or an http(s) URL", cfg.Hook)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	t := &Tracker{cfg: cfg, log: cfg.Logger, pending: map[string]*pending{}, expired: map[string]struct{}{}}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	return t, nil
}

// Send sends req to method in ack mode over c, which must have Interceptor(), with the
// tracker's hook; it returns the request id once the receiver accepted the request.
// The answer then comes to the hook. A request the receiver did not accept is not
// tracked: its error is returned and no handler runs.
func (t *Tracker) Send(ctx context.Context, c *jesus.Client, method string, req any, r Request) (string, error) {
	if r.Timeout <= 0 {
		r.Timeout = t.cfg.Timeout
	}
	h := Hook{Target: t.cfg.Hook, ID: uuid.NewString(), Tag: r.Tag, Deadline: time.Now().Add(r.Timeout)}
	p := &pending{req: r}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return "", jesus.Errorf(jesus.CodeUnavailable, "async: tracker is shut down")
	}
	t.pending[h.ID] = p
	p.timer = time.AfterFunc(r.Timeout, func() { t.expire(h.ID, h.Tag) })
	t.mu.Unlock()

	o := &outgoing{hook: h}
	err := c.Invoke(context.WithValue(ctx, hookKey{}, o), method, jesus.ModeAck, req, nil)
	if err == nil && !o.used.Load() {
		err = jesus.Errorf(jesus.CodeFailedPrecondition, "async: the client lacks async.Interceptor(), so the request went without its hook")
	}
	if err != nil {
		t.untrack(h.ID)
		return "", err
	}
	return h.ID, nil
}

func (t *Tracker) untrack(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.pending[id]; p != nil {
		p.timer.Stop()
		delete(t.pending, id)
		t.checkIdleLocked()
	}
}

func (t *Tracker) checkIdleLocked() {
	if t.idle != nil && len(t.pending) == 0 {
		close(t.idle)
		t.idle = nil
	}
}

func (t *Tracker) expire(id, tag string) {
	a := &Answer{ID: id, Tag: tag, Error: &AnswerError{Code: string(jesus.CodeDeadlineExceeded), Message: "async: no answer within the request's timeout"}}
	t.mu.Lock()
	p := t.pending[id]
	if p == nil {
		t.mu.Unlock()
		return
	}
	delete(t.pending, id)
	t.expired[id] = struct{}{}
	t.order = append(t.order, id)
	if len(t.order) > maxExpired {
		delete(t.expired, t.order[0])
		t.order = t.order[1:]
	}
	t.handlers.Add(1)
	t.mu.Unlock()
	go func() {
		defer t.handlers.Done()
		t.run(context.Background(), p, a)
		t.mu.Lock()
		t.checkIdleLocked()
		t.mu.Unlock()
	}()
}

// deliver hands an answer to its request's handlers (tracked) or its tag's.
func (t *Tracker) deliver(ctx context.Context, a *Answer) {
	t.mu.Lock()
	p := t.pending[a.ID]
	if p != nil {
		p.timer.Stop()
		delete(t.pending, a.ID)
	} else if _, late := t.expired[a.ID]; late {
		t.late++
		t.mu.Unlock()
		t.log.Warn("async: answer after its request timed out; dropped", "id", a.ID, "tag", a.Tag)
		return
	}
	t.handlers.Add(1)
	t.mu.Unlock()
	defer func() {
		t.handlers.Done()
		t.mu.Lock()
		t.checkIdleLocked()
		t.mu.Unlock()
	}()
	if p == nil {
		p = &pending{req: Request{Tag: a.Tag}}
	}
	t.run(ctx, p, a)
}

func (t *Tracker) run(ctx context.Context, p *pending, a *Answer) {
	tracked := p.timer != nil
	on := p.req.OnSuccess
	if a.Error != nil {
		on = p.req.OnError
	}
	if on == nil {
		th, ok := t.cfg.Tags[a.Tag]
		on = th.OnSuccess
		if a.Error != nil {
			on = th.OnError
		}
		if !ok && !tracked {
			t.mu.Lock()
			t.orphans++
			t.mu.Unlock()
			t.log.Warn("async: answer to a request this service did not send, with no handler for its tag", "id", a.ID, "tag", a.Tag)
			return
		}
	}
	if on != nil {
		on(ctx, a, tracked)
	}
}

// answerMsg is an answer as a method hook receives it: Result is any value, so that
// every codec carries it.
type answerMsg struct {
	ID     string       `json:"id" msgpack:"id"`
	Tag    string       `json:"tag,omitempty" msgpack:"tag,omitempty"`
	Result any          `json:"result,omitempty" msgpack:"result,omitempty"`
	Error  *AnswerError `json:"error,omitempty" msgpack:"error,omitempty"`
}

// Handle registers the hook method on srv (the service's own server): name is the
// method part of TrackerConfig.Hook, declared in the descriptor with mode ack.
func (t *Tracker) Handle(srv *jesus.Server, name string) {
	jesus.HandleOneWay(srv, name, func(ctx context.Context, m answerMsg) error {
		a := &Answer{ID: m.ID, Tag: m.Tag, Error: m.Error}
		if m.Error == nil {
			b, err := json.Marshal(m.Result)
			if err != nil {
				return jesus.Errorf(jesus.CodeInvalidArgument, "async: answer %s: result is not JSON-able: %v", m.ID, err)
			}
			a.Result = b
		}
		if a.ID == "" || len(a.ID) > maxID {
			return jesus.Errorf(jesus.CodeInvalidArgument, "async: answer without a valid id")
		}
		t.deliver(ctx, a)
		return nil
	})
}

// HTTPHandler returns the handler of an http hook: POST with an Answer as JSON body;
// 200 once the answer was handled, 400 for a malformed one.
func (t *Tracker) HTTPHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "async: POST an answer", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAnswer))
		if err != nil {
			http.Error(w, "async: answer body over the limit or unreadable: "+err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		a, err := parseAnswer(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		t.deliver(r.Context(), a)
		w.WriteHeader(http.StatusOK)
	})
}

// Pending returns how many requests wait for their answers.
func (t *Tracker) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending)
}

// TrackerStats are a tracker's counts of answers it could not hand to a handler.
type TrackerStats struct {
	Late    uint64 // answers after their request timed out
	Orphans uint64 // answers to requests of another instance, with no handler for their tag
}

// Stats returns the tracker's counts.
func (t *Tracker) Stats() TrackerStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return TrackerStats{Late: t.late, Orphans: t.orphans}
}

// Shutdown refuses new requests and waits until every pending request got its answer
// or timed out and the handlers returned, or ctx ends. Repeat-safe.
func (t *Tracker) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	t.closed = true
	var idle chan struct{}
	if len(t.pending) > 0 {
		if t.idle == nil {
			t.idle = make(chan struct{})
		}
		idle = t.idle
	}
	t.mu.Unlock()
	if idle != nil {
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	done := make(chan struct{})
	go func() { t.handlers.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
