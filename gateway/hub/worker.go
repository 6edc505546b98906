package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/schema/registry"
)

// Worker is a transport that opens no port: a jesus.Server serving it with
// srv.ListenVia(ctx, worker, "json", "host:port[,host:port...]") polls every hub named
// there (and, with Cache, every hub registered in the registry: addr "registry") for the
// jobs of Service, runs each through the server's handlers and posts the answer back.
// Dial is not supported: callers reach the service through the endpoints the hub
// registers for it, or the hub's HTTP API.
//
// Calls in modes response, ack and noResponse pass through a hub; streams do not.
// A Worker value may serve several listeners; its fields must not change after first use.
type Worker struct {
	Service string          // the service whose jobs it takes
	Cache   *registry.Cache // optional: also poll every hub registered under HubService
	Pollers int             // concurrent polls (and so calls) per hub; default 16
	Wait    time.Duration   // how long one poll waits at the hub; default 20 s
	Logger  *slog.Logger    // nil: discard
}

// Name implements channel.Transport.
func (w *Worker) Name() string { return "hub" }

// Caps implements channel.Transport.
func (w *Worker) Caps() channel.Caps { return channel.Caps{Response: true, Reliable: true} }

// Dial implements channel.Transport; it is not supported.
func (w *Worker) Dial(ctx context.Context, addr string, cfg channel.Config) (channel.Conn, error) {
	return nil, fmt.Errorf("hub: %w: a service behind a hub is called through the endpoints the hub registers for it", channel.ErrUnsupported)
}

// Listen implements channel.Transport: addr lists hub addresses, comma separated; with a
// Cache it may be "registry" to use only the hubs found there. Nothing is contacted
// before Serve.
func (w *Worker) Listen(ctx context.Context, addr string, cfg channel.Config) (channel.Listener, error) {
	if !validQueue(w.Service) {
		return nil, fmt.Errorf("hub: worker service name %q: want 1 to 63 of [A-Za-z0-9_-]", w.Service)
	}
	cfg = cfg.WithDefaults()
	l := &workerListener{w: w, addr: addr, cfg: cfg, hubs: map[string]context.CancelFunc{}}
	if addr != "registry" {
		for _, a := range strings.Split(addr, ",") {
			if a = strings.TrimSpace(a); a == "" || strings.ContainsAny(a, "/?#@") {
				return nil, fmt.Errorf("hub: hub address %q in %q: want host:port", a, addr)
			}
			l.static = append(l.static, a)
		}
	} else if w.Cache == nil {
		return nil, errors.New("hub: listen on \"registry\" needs Worker.Cache")
	}
	l.pollers, l.wait = w.Pollers, w.Wait
	if l.pollers <= 0 {
		l.pollers = 16
	}
	if l.wait <= 0 {
		l.wait = 20 * time.Second
	}
	l.log = w.Logger
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2*l.pollers + 4, IdleConnTimeout: time.Minute, DisableCompression: true,
		ResponseHeaderTimeout: l.wait + 30*time.Second}}
	l.hard, l.kill = context.WithCancel(context.Background())
	l.polling, l.stopPolling = context.WithCancel(l.hard)
	return l, nil
}

type workerListener struct {
	w       *Worker
	addr    string
	static  []string
	cfg     channel.Config
	pollers int
	wait    time.Duration
	log     *slog.Logger
	client  *http.Client

	hard, polling     context.Context // hard ends handlers; polling ends polls
	kill, stopPolling context.CancelFunc

	mu   sync.Mutex
	hubs map[string]context.CancelFunc // hub address -> its pollers' cancel
	wg   sync.WaitGroup                // pollers (each runs the calls it takes)
}

func (l *workerListener) Addr() string { return l.addr }

// Serve polls until Shutdown or Close, keeping a set of pollers per live hub.
func (l *workerListener) Serve(h channel.Handler) error {
	var changes <-chan registry.Change
	if l.w.Cache != nil {
		ch, stop := l.w.Cache.Subscribe()
		defer stop()
		changes = ch
	}
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		l.reconcile(h)
		select {
		case <-l.polling.Done():
			l.mu.Lock()
			for _, cancel := range l.hubs {
				cancel()
			}
			l.mu.Unlock()
			return channel.ErrClosed
		case <-changes:
		case <-t.C:
		}
	}
}

// liveHubs lists the static hubs and the hubs registered in the cache.
func (l *workerListener) liveHubs() map[string]bool {
	live := make(map[string]bool, len(l.static))
	for _, a := range l.static {
		live[a] = true
	}
	if l.w.Cache != nil {
		for _, in := range l.w.Cache.Instances(HubService) {
			if ep, ok := in.Endpoint("pull"); ok {
				if sp, err := channel.ParseSpec(ep); err == nil && sp.Transport == "http" && sp.Addr != "" {
					live[sp.Addr] = true
				}
			}
		}
	}
	return live
}

func (l *workerListener) reconcile(h channel.Handler) {
	live := l.liveHubs()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.polling.Err() != nil {
		return
	}
	for a, cancel := range l.hubs {
		if !live[a] {
			cancel()
			delete(l.hubs, a)
		}
	}
	for a := range live {
		if _, ok := l.hubs[a]; ok {
			continue
		}
		ctx, cancel := context.WithCancel(l.polling)
		l.hubs[a] = cancel
		for range l.pollers {
			l.wg.Add(1)
			go l.poller(ctx, a, h)
		}
	}
}

// poller takes jobs from one hub and runs them, one at a time.
func (l *workerListener) poller(ctx context.Context, hubAddr string, h channel.Handler) {
	defer l.wg.Done()
	backoff := 50 * time.Millisecond
	var env channel.Envelope
	for ctx.Err() == nil {
		id, lease, err := l.fetch(ctx, hubAddr, &env)
		if err != nil && id != "" { // a job this worker cannot run: its caller learns why
			rw := &jobReply{l: l, hub: hubAddr, id: id}
			rw.postError(channel.CodeInvalidArgument, err.Error(), nil)
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			l.log.Debug("hub: poll failed", "hub", hubAddr, "service", l.w.Service, "err", err)
			sleep(ctx, backoff/2+rand.N(backoff/2+1))
			backoff = min(backoff*2, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		if id == "" {
			continue
		}
		l.run(hubAddr, id, lease, &env, h)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// fetch polls hubAddr once; id is "" when no job came within the wait.
func (l *workerListener) fetch(ctx context.Context, hubAddr string, env *channel.Envelope) (id string, lease time.Duration, err error) {
	u := "http://" + hubAddr + "/service/" + url.PathEscape(l.w.Service) + "/jobs?wait=" + l.wait.String()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", 0, err
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(l.cfg.MaxMessage)+64<<10+1))
	if err != nil {
		return "", 0, err
	}
	switch {
	case resp.StatusCode == http.StatusNoContent:
		return "", 0, nil
	case resp.StatusCode != http.StatusOK:
		return "", 0, fmt.Errorf("hub: poll %s: HTTP %d: %s", hubAddr, resp.StatusCode, truncateN(string(body), 200))
	case len(body) > l.cfg.MaxMessage+64<<10:
		return "", 0, fmt.Errorf("hub: job from %s exceeds the limit of %d bytes", hubAddr, l.cfg.MaxMessage)
	}
	return parseJobLease(body, env)
}

// run serves one job through the server's handler and makes sure the hub hears an
// answer: the reply, or for one-way calls that the handler is done.
func (l *workerListener) run(hubAddr, id string, lease time.Duration, env *channel.Envelope, h channel.Handler) {
	rw := &jobReply{l: l, hub: hubAddr, id: id, mode: env.Mode}
	if lease > 0 {
		stop := l.renewing(hubAddr, id, lease)
		defer stop()
	}
	h.ServeExchange(l.hard, env, rw)
	if !rw.posted {
		if env.Mode == channel.ModeResponse {
			rw.postError(channel.CodeInternal, "hub: the handler returned no reply", nil)
		} else {
			rw.post(nil, "")
		}
	}
}

// renewing renews the lease of a running job every third of the lease, so that a long
// call is not given to another worker; stop ends it.
func (l *workerListener) renewing(hubAddr, id string, lease time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(max(lease/3, 10*time.Millisecond))
		defer t.Stop()
		u := "http://" + hubAddr + "/jobs/" + url.PathEscape(id) + "/lease"
		for {
			select {
			case <-done:
				return
			case <-l.hard.Done():
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(l.hard, lease/3+time.Second)
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
			if resp, err := l.client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					l.log.Warn("hub: lease not renewed", "hub", hubAddr, "job", id, "status", resp.StatusCode)
				}
			}
			cancel()
		}
	}()
	return func() { close(done); wg.Wait() }
}

// jobReply is the channel.ReplyWriter of one job.
type jobReply struct {
	l      *workerListener
	hub    string
	id     string
	mode   channel.Mode
	posted bool
}

func (r *jobReply) Peer() string { return r.hub }

func (r *jobReply) Send(ctx context.Context, rep *channel.Envelope) error {
	if r.posted {
		return channel.ErrClosed
	}
	switch rep.Type {
	case channel.TypeAck:
		return nil // the hub acked its caller when it accepted the job
	case channel.TypeResponse:
		if r.mode != channel.ModeResponse {
			return channel.ErrNoReply
		}
		r.post(rep.Data, "")
		return nil
	case channel.TypeError:
		r.postError(rep.ErrCode, rep.ErrMessage, rep.ErrDetails)
		return nil
	}
	return fmt.Errorf("hub: %w: %s replies", channel.ErrUnsupported, rep.Type)
}

func (r *jobReply) postError(code, msg string, details []byte) {
	b := struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Details json.RawMessage `json:"details,omitempty"`
	}{code, msg, nil}
	if json.Valid(details) {
		b.Details = details
	}
	body, _ := json.Marshal(b)
	r.post(body, code)
}

// post sends the answer, retrying a few times while the hub cannot be reached. A hub
// that refuses it (the job lapsed and another worker answered) is logged.
func (r *jobReply) post(body []byte, code string) {
	r.posted = true
	u := "http://" + r.hub + "/jobs/" + url.PathEscape(r.id)
	backoff := 50 * time.Millisecond
	for attempt := 0; attempt < 5; attempt++ {
		ctx, cancel := context.WithTimeout(r.l.hard, 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if code != "" {
			req.Header.Set(headerErrorCode, code)
		}
		resp, err := r.l.client.Do(req)
		if err == nil {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
			resp.Body.Close()
			cancel()
			if resp.StatusCode != http.StatusOK {
				r.l.log.Warn("hub: answer refused", "hub", r.hub, "job", r.id, "status", resp.StatusCode, "body", string(msg))
			}
			return
		}
		cancel()
		if r.l.hard.Err() != nil {
			return
		}
		sleep(r.l.hard, backoff)
		backoff *= 2
	}
	r.l.log.Warn("hub: answer not delivered; the job goes to another worker when its lease ends", "hub", r.hub, "job", r.id)
}

// Shutdown stops polling, lets the calls taken finish, and returns when they have or
// ctx ends (then it cancels them).
func (l *workerListener) Shutdown(ctx context.Context) error {
	l.stop()
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
		l.finish()
		return nil
	case <-ctx.Done():
		l.kill()
		<-done
		l.finish()
		return ctx.Err()
	}
}

// Close stops polling and cancels running calls. Repeat-safe.
func (l *workerListener) Close() error {
	l.stop()
	l.kill()
	l.wg.Wait()
	l.finish()
	return nil
}

// stop ends polling under the lock, so that no poller starts after it.
func (l *workerListener) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopPolling()
}

func (l *workerListener) finish() {
	l.kill()
	l.client.CloseIdleConnections()
}
