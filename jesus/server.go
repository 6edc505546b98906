package jesus

import (
	"context"
	"errors"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// Server serves the methods of one service over one or more channels at once.
//
// Register handlers (Handle, HandleOneWay, HandleStream) before or after Listen; Listen
// binds a channel and serves it until Shutdown or Close. All methods are safe for
// concurrent use. Shutdown and Close are repeat-safe.
type Server struct {
	name string
	o    serverOptions

	methods atomic.Pointer[map[string]*method] // copy-on-write: lookups take no lock
	regMu   sync.Mutex

	mu        sync.Mutex
	listeners []*listening
	all       []*listening // every listener ever bound, for Stats after shutdown
	closed    bool

	sem      chan struct{} // admission: one token per running call
	draining atomic.Bool
	serveWG  sync.WaitGroup
	onStop   []func(context.Context) error

	// hard ends when the server stops for good (Close, or Shutdown past its bound); one-way
	// handlers run on it instead of the caller's connection once the request is accepted.
	hard       context.Context
	hardCancel context.CancelFunc

	panics       atomic.Uint64
	oneWayErrors atomic.Uint64
	replayOnce   sync.Once
	replayed     atomic.Uint64 // journaled requests run again at start
	duplicates   atomic.Uint64 // journaled requests acked again without running
	// requests refused and replies withheld because they fail the service's schema
	invalidRequests, invalidReplies atomic.Uint64
	bytesIn, bytesOut               atomic.Uint64 // data bytes of requests read, of replies and items sent
	svcAPI                          serviceAPI    // $ping, $info, $stats: serviceapi.go
}

// ServerStats are a server's figures since NewServer.
type ServerStats struct {
	// OneWay sums the noResponse counts of every listener that counts them (tcp, unix,
	// http, udp): requests read, and those dropped without running (shutting down,
	// invalid, no such method, a handler that panicked, a limit).
	OneWay channel.OneWayListenerStats
	// Panics counts handlers that panicked (each is logged with its stack).
	Panics uint64
	// OneWayErrors counts one-way handlers that returned an error after the request was
	// accepted (each is logged).
	OneWayErrors uint64
	// Replayed counts journaled requests run again at start (WithJournal); Duplicates,
	// journaled requests acked again without running because their key was accepted before.
	Replayed, Duplicates uint64
	// The server's memory budget (channel.Config.MemoryBudget), shared by all its
	// channels: bytes held for peers now, the limit, and admissions it refused.
	MemoryUsed, MemoryLimit int64
	MemoryRefused           uint64
	// InvalidRequests counts requests refused because they fail the service's schema;
	// InvalidReplies, responses and stream items of handlers that failed it (not sent).
	InvalidRequests, InvalidReplies uint64
	// BytesIn and BytesOut count the data of the requests admitted and of the replies
	// and stream items sent, as they travel (serialized, compressed, sealed).
	BytesIn, BytesOut uint64
}

// Stats returns a snapshot of the server's figures.
func (s *Server) Stats() ServerStats {
	s.mu.Lock()
	all := s.all
	s.mu.Unlock()
	st := ServerStats{Panics: s.panics.Load(), OneWayErrors: s.oneWayErrors.Load(), Replayed: s.replayed.Load(), Duplicates: s.duplicates.Load(),
		MemoryUsed: s.o.cfg.Budget.Used(), MemoryLimit: s.o.cfg.Budget.Limit(), MemoryRefused: s.o.cfg.Budget.Refused(),
		InvalidRequests: s.invalidRequests.Load(), InvalidReplies: s.invalidReplies.Load(),
		BytesIn: s.bytesIn.Load(), BytesOut: s.bytesOut.Load()}
	for _, l := range all {
		if lc, ok := l.ln.(channel.OneWayListenerCounter); ok {
			ls := lc.OneWayListenerStats()
			st.OneWay.Received += ls.Received
			st.OneWay.Dropped += ls.Dropped
		}
	}
	return st
}

type listening struct {
	name     string // channel name from the descriptor, if any
	spec     channel.Spec
	specName string // spec.Name(), for Meta.Channel of every request
	ln       channel.Listener
	srv      *Server
}

// method is one registered handler, already adapted from its typed form.
type method struct {
	name  string
	modes [5]bool // accepted channel.Mode values
	kind  string  // "response", "one-way" or "stream", for error messages
	serve func(ctx context.Context, c *call)
	// unary and stream are the server's interceptors around the handler; nil without.
	unary  UnaryFunc
	stream StreamFunc
	// vals are the method's validators, looked up on its first request: a server's
	// Validation describes its own descriptor, which does not change while it runs.
	vals atomic.Pointer[methodVals]
	// req replaces the server's Validation for requests when reqSet (CheckRequests).
	req      Validator
	reqSet   bool
	unlisted bool        // serves no method of the descriptor (Unlisted)
	stats    methodStats // for $stats
	admit    []Admitter  // interceptors that may refuse a call before anything is done for it
}

type methodVals struct{ req, res Validator }

// validators returns m's validators under v.
func (m *method) validators(v Validation) *methodVals {
	if mv := m.vals.Load(); mv != nil {
		return mv
	}
	mv := &methodVals{req: validatorOf(v, partRequest, m.name), res: validatorOf(v, partResponse, m.name)}
	if m.reqSet {
		mv.req = m.req
	}
	m.vals.Store(mv)
	return mv
}

// NewServer returns a server for the service named name (used in Meta.From and errors).
func NewServer(name string, opts ...Option) *Server {
	s := &Server{name: name}
	for _, o := range opts {
		o.applyServer(&s.o)
	}
	s.o.fill()
	if s.o.cfg.Budget == nil {
		// One budget for every channel of the server: a peer cannot get around it by
		// spreading over listeners.
		s.o.cfg.Budget = channel.NewBudget(s.o.cfg.MemoryBudget)
	}
	if s.o.maxConcurrent <= 0 {
		s.o.maxConcurrent = 4096
	}
	s.sem = make(chan struct{}, s.o.maxConcurrent)
	s.hard, s.hardCancel = context.WithCancel(context.Background())
	empty := map[string]*method{}
	s.methods.Store(&empty)
	s.svcAPI.init(s)
	return s
}

// Name is the service name.
func (s *Server) Name() string { return s.name }

// register adds m under its wire name "service.method"; a bare name gets the service prefix.
func (s *Server) register(m *method) {
	if s.name != "" && !hasDot(m.name) {
		m.name = s.name + "." + m.name
	}
	s.regMu.Lock()
	defer s.regMu.Unlock()
	old := *s.methods.Load()
	next := make(map[string]*method, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[m.name] = m
	s.methods.Store(&next)
}

func hasDot(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return true
		}
	}
	return false
}

// Listen binds a channel (e.g. "tcp+msgpack+zstd://127.0.0.1:0") and serves it in the
// background. It returns the bound spec, whose Addr is the real address.
func (s *Server) Listen(ctx context.Context, spec string) (channel.Spec, error) {
	sp, err := channel.ParseSpec(spec)
	if err != nil {
		return sp, Errorf(CodeInvalidArgument, "%v", err)
	}
	if _, err := s.o.codecs.Pipeline(sp.Codec); err != nil {
		return sp, Errorf(CodeInvalidArgument, "channel %s: %v", spec, err)
	}
	tr, err := s.o.transports.Get(sp.Transport)
	if err != nil {
		return sp, Errorf(CodeInvalidArgument, "%v", err)
	}
	if sp.Addr == "" {
		return sp, Errorf(CodeInvalidArgument, "channel %s: no address to listen on", spec)
	}
	if sp.TLS && s.o.cfg.TLS == nil {
		return sp, Errorf(CodeFailedPrecondition, "channel %s declares TLS but server %s has no TLS config (channel.Config.TLS)", spec, s.name)
	}
	sp.TLS = sp.TLS || s.o.cfg.TLS != nil && sp.Transport != "udp" // the bound spec says what the listener speaks
	if sp.Seal && (s.o.seal == nil || s.o.seal.opener == nil) {
		return sp, Errorf(CodeFailedPrecondition, "channel %s is sealed but server %s has no opener (WithOpener)", spec, s.name)
	}
	return s.listen(ctx, tr, sp)
}

// ListenVia serves tr, a transport the caller supplies that callers never dial (such as
// gateway/hub's Worker, which opens no port and pulls calls from hubs), with the codec
// named and at addr, in tr's own terms. Its name stays outside the closed set of channel
// transports: no descriptor names it. It returns the spec it serves under.
func (s *Server) ListenVia(ctx context.Context, tr channel.Transport, codecName, addr string) (channel.Spec, error) {
	sp := channel.Spec{Transport: tr.Name(), Codec: codecName, Addr: addr}
	if _, err := s.o.codecs.Pipeline(codecName); err != nil {
		return sp, Errorf(CodeInvalidArgument, "%s: %v", sp, err)
	}
	return s.listen(ctx, tr, sp)
}

// listen binds sp with tr and serves it in the background.
func (s *Server) listen(ctx context.Context, tr channel.Transport, sp channel.Spec) (channel.Spec, error) {
	spec := sp.String()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return sp, Errorf(CodeUnavailable, "server %s is shut down", s.name)
	}
	s.mu.Unlock()
	ln, err := tr.Listen(ctx, sp.Addr, s.o.cfg)
	if err != nil {
		return sp, Errorf(CodeUnavailable, "listen on %s: %w", spec, err)
	}
	sp.Addr = ln.Addr()
	l := &listening{spec: sp, specName: sp.Name(), ln: ln, srv: s}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ln.Close()
		return sp, Errorf(CodeUnavailable, "server %s is shut down", s.name)
	}
	s.listeners = append(s.listeners, l)
	s.all = append(s.all, l)
	s.serveWG.Add(1)
	if s.o.journal != nil {
		s.replayOnce.Do(func() {
			s.serveWG.Add(1)
			go s.replay()
		})
	}
	s.mu.Unlock()
	go func() {
		defer s.serveWG.Done()
		if err := ln.Serve(l); err != nil && !errors.Is(err, channel.ErrClosed) {
			s.o.logger.Error("jesus: listener stopped", "channel", sp.String(), "err", err)
		}
	}()
	return sp, nil
}

// Channels returns the bound specs of every listener.
func (s *Server) Channels() []channel.Spec {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]channel.Spec, len(s.listeners))
	for i, l := range s.listeners {
		out[i] = l.spec
	}
	return out
}

// OnShutdown adds a function run first by Shutdown and Close, before draining (e.g.
// deregistration from the registry, so that callers stop picking this instance).
func (s *Server) OnShutdown(f func(context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onStop = append(s.onStop, f)
}

// Shutdown stops accepting calls, lets running calls and streams finish (every acked
// request completes), and returns when all have or ctx ends — then it closes hard and
// returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	lns, stops := s.stop()
	for _, f := range stops {
		if err := f(ctx); err != nil {
			s.o.logger.Warn("jesus: shutdown hook failed", "err", err)
		}
	}
	s.draining.Store(true)
	errs := make(chan error, len(lns))
	for _, l := range lns {
		go func() { errs <- l.ln.Shutdown(ctx) }()
	}
	var first error
	for range lns {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		s.hardCancel()
	}
	s.serveWG.Wait()
	s.hardCancel()
	return first
}

// Close stops at once: running handlers see their contexts cancelled.
func (s *Server) Close() error {
	lns, stops := s.stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, f := range stops {
		_ = f(ctx)
	}
	s.draining.Store(true)
	s.hardCancel()
	for _, l := range lns {
		_ = l.ln.Close()
	}
	s.serveWG.Wait()
	return nil
}

func (s *Server) stop() ([]*listening, []func(context.Context) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, nil
	}
	s.closed = true
	lns, stops := s.listeners, s.onStop
	s.listeners, s.onStop = nil, nil
	return lns, stops
}

// ServeExchange implements channel.Handler for one listener.
func (l *listening) ServeExchange(ctx context.Context, env *channel.Envelope, w channel.ReplyWriter) {
	l.serveExchange(ctx, env, w, 0)
}

// serveExchange serves one request; jseq is its journal sequence number when it is a
// replay of a request a previous process accepted (see Journal), else 0.
func (l *listening) serveExchange(ctx context.Context, env *channel.Envelope, w channel.ReplyWriter, jseq uint64) {
	s := l.srv
	c := &call{srv: s, env: env, w: w, listener: l, jseq: jseq}
	defer c.release()
	if s.draining.Load() {
		c.fail(Errorf(CodeUnavailable, "%s is shutting down", s.name))
		return
	}
	m := (*s.methods.Load())[env.Method]
	if m == nil {
		m = s.apiLookup(env.Method)
	}
	if m == nil {
		c.fail(Errorf(CodeUnimplemented, "service %s has no method %q", s.name, env.Method))
		return
	}
	if !env.Mode.Valid() || !m.modes[env.Mode] {
		c.fail(Errorf(CodeUnimplemented, "%s is a %s method; it cannot be called in %s mode", m.name, m.kind, env.Mode))
		return
	}
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	default:
		c.fail(Errorf(CodeResourceExhausted, "%s: server limit of %d concurrent calls reached", s.name, cap(s.sem)))
		return
	}
	start := monotonic()
	defer func() { m.stats.record(monotonic()-start, c.failure) }()
	codecName := env.Codec
	if codecName == "" {
		codecName = l.spec.Codec
	}
	pl, err := s.o.codecs.Pipeline(codecName)
	if err != nil {
		c.fail(Errorf(CodeInvalidArgument, "%v", err))
		return
	}
	c.pl = pl
	if l.spec.Seal { // opened before anything reads the payload
		if c.sealed, err = s.o.openRequest(env, l.specName); err != nil {
			c.fail(err)
			return
		}
	}
	c.vals = m.validators(s.o.validation)
	c.msg = Msg{Method: env.Method, Data: env.Data, Codec: pl.Name(), Meta: env.Meta, Mode: env.Mode, ID: env.ID}
	c.msg.Meta.Channel = l.specName
	if env.Timeout > 0 && env.Mode != ModeNoResponse { // accepted one-way work has no deadline
		c.dl.reset(ctx, time.Now().Add(env.Timeout))
		defer c.dl.release()
		ctx = &c.dl
		c.msg.Deadline, _ = ctx.Deadline()
	}
	c.in = incomingCtx{Context: ctx, msg: &c.msg}
	ctx = &c.in
	defer func() {
		if r := recover(); r != nil {
			s.panics.Add(1)
			s.o.logger.Error("jesus: handler panic", "method", env.Method, "panic", r, "stack", string(debug.Stack()))
			if env.Mode == ModeNoResponse {
				c.done = false // the request was taken but not run: a counted drop
			}
			c.fail(Errorf(CodeInternal, "%s: handler panicked: %v", env.Method, r))
		}
	}()
	s.bytesIn.Add(uint64(len(env.Data)))
	for _, a := range m.admit {
		if err := a.Admit(ctx, c.invocation(nil)); err != nil {
			c.fail(err)
			return
		}
	}
	m.serve(ctx, c)
	if ctx.Err() != nil && !c.done {
		c.fail(contextError(ctx.Err(), env.Method))
	}
}
