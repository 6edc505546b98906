package framed

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/jesus-go/jesus/channel/internal/workerpool"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// listener is a channel.Listener. Goroutines: the caller's Serve (accept loop); per
// connection a reader (which owns the connection) and a writer; per request a handler
// from the worker pool, or, for a request alone on its connection, the reader itself,
// which then hands reading to a new goroutine when the request takes long (see
// srvConn.inline). All but Serve are counted in wg, which Close waits on.
type listener struct {
	t    *transport
	nl   net.Listener
	cfg  channel.Config
	base context.Context // parent of every handler's ctx; cancelled by Close
	kill context.CancelFunc

	mu       sync.Mutex
	conns    map[*srvConn]struct{}
	serving  bool
	stopping bool // Shutdown or Close began: Accept errors end Serve

	// hmu orders "start a handler" against "stop starting handlers" so that
	// handlers.Add never races with handlers.Wait.
	hmu      sync.RWMutex
	draining bool
	handlers sync.WaitGroup

	closeOnce sync.Once
	wg        sync.WaitGroup

	pool *workerpool.Pool // runs handlers on reused goroutines

	// The watchdog of requests run on their connection's reader (see srvConn.inline):
	// armed while one runs, it hands reading to a new goroutine on a connection whose
	// request has run for a tick.
	inlineWatching atomic.Bool
	inlineTimer    *time.Timer

	owReceived, owDropped atomic.Uint64 // noResponse requests read, and of those not run
	owTasks               sync.Pool     // *oneWayTask

	budget  *channel.Budget // what the listener holds for all its peers (Config.MemoryBudget)
	refused atomic.Uint64   // connections closed at accept: over MaxConns or the budget
}

// connCost is what one server connection holds whatever it does: its bufio reader and
// writer (32 KiB each) and its goroutines' stacks, charged to the budget at accept.
const connCost = 72 << 10

func newListener(t *transport, nl net.Listener, cfg channel.Config) *listener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &listener{t: t, nl: nl, cfg: cfg, base: ctx, kill: cancel, conns: make(map[*srvConn]struct{}),
		pool: workerpool.New(workerIdle), owTasks: sync.Pool{New: newOneWayTask}, budget: channel.BudgetOf(cfg)}
	l.inlineTimer = time.AfterFunc(time.Hour, l.checkInline)
	l.inlineTimer.Stop()
	return l
}

// inlineTick is how long a request may hold up reading on its connection before the
// watchdog hands reading to another goroutine.
const inlineTick = time.Millisecond

// watchInline arms the watchdog unless it is armed.
func (l *listener) watchInline() {
	if !l.inlineWatching.Load() && l.inlineWatching.CompareAndSwap(false, true) {
		l.inlineTimer.Reset(inlineTick)
	}
}

// checkInline is the watchdog: a connection whose reader has been running the same
// request since the last look gets a new reader.
func (l *listener) checkInline() {
	l.inlineWatching.Store(false) // before the scan: a request started after it re-arms
	busy := false
	l.mu.Lock()
	for sc := range l.conns {
		run := sc.inlineRun.Load()
		if run == 0 {
			continue
		}
		if run != sc.inlineSeen {
			sc.inlineSeen = run
			busy = true
			continue
		}
		sc.handOff(run) // under l.mu: sc's reader has not finished, so wg is not at zero
	}
	l.mu.Unlock()
	if busy {
		l.watchInline()
	}
}

// workerIdle is how long a handler goroutine waits for another request before it ends.
const workerIdle = 10 * time.Second

func (l *listener) Addr() string { return l.nl.Addr().String() }

func (l *listener) Serve(h channel.Handler) error {
	if h == nil {
		return fmt.Errorf("framed: Serve needs a handler, got nil")
	}
	l.mu.Lock()
	if l.stopping {
		l.mu.Unlock()
		return fmt.Errorf("framed: Serve on a closed listener: %w", channel.ErrClosed)
	}
	if l.serving {
		l.mu.Unlock()
		return fmt.Errorf("framed: Serve called twice on %s", l.Addr())
	}
	l.serving = true
	l.mu.Unlock()
	var backoff time.Duration
	for {
		nc, err := l.nl.Accept()
		if err != nil {
			l.mu.Lock()
			stopping := l.stopping
			l.mu.Unlock()
			if stopping {
				return fmt.Errorf("framed: listener %s: %w", l.Addr(), channel.ErrClosed)
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, errTooManyFiles) {
				// Out of file descriptors and the like: back off like net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				t := time.NewTimer(backoff)
				select {
				case <-t.C:
				case <-l.base.Done():
					t.Stop()
				}
				continue
			}
			return fmt.Errorf("framed: accept on %s: %w", l.Addr(), err)
		}
		backoff = 0
		l.mu.Lock()
		if l.stopping {
			l.mu.Unlock()
			nc.Close()
			continue
		}
		if len(l.conns) >= l.cfg.MaxConns || !l.budget.Acquire(connCost) {
			// Refused before anything is spent on it: closed before the preface, which a
			// client reports as a connection the server closed.
			n := len(l.conns)
			l.mu.Unlock()
			nc.Close()
			if r := l.refused.Add(1); r&(r-1) == 0 { // log the 1st, 2nd, 4th, 8th ...
				l.cfg.Logger.Warn("framed: connection refused", "listener", l.Addr(), "conns", n, "max_conns", l.cfg.MaxConns,
					"budget_used", l.budget.Used(), "budget", l.budget.Limit())
			}
			continue
		}
		sc := &srvConn{ls: l, h: h, xs: make(map[uint64]*srvExchange)}
		sc.ow.window = l.cfg.OneWayWindow
		l.conns[sc] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		go sc.run(nc)
	}
}

func (l *listener) stop() []*srvConn {
	l.hmu.Lock()
	l.draining = true
	l.hmu.Unlock()
	// No request starts after draining, so idle workers can go; busy ones end after
	// their request.
	l.pool.Stop()
	l.mu.Lock()
	l.stopping = true
	conns := make([]*srvConn, 0, len(l.conns))
	for sc := range l.conns {
		conns = append(conns, sc)
	}
	l.mu.Unlock()
	l.nl.Close()
	return conns
}

func (l *listener) Shutdown(ctx context.Context) error {
	l.stop()
	if err := waitCtx(ctx, &l.handlers); err != nil {
		l.abort()
		return err
	}
	// Every handler has returned and queued its last reply: flush and close. A
	// connection that finishes its preface after this drains itself (see run).
	for _, sc := range l.stop() {
		sc.mu.Lock()
		lk := sc.l
		sc.mu.Unlock()
		if lk != nil {
			sc.flushCredit() // the client learns what ran and what was dropped
			lk.drainLinger()
		}
	}
	if err := waitCtx(ctx, &l.wg); err != nil {
		l.abort()
		return err
	}
	l.Close()
	return nil
}

// waitCtx waits for wg or ctx. The waiting goroutine ends when wg does; callers that
// give up close what wg counts, so it does not outlive them by much.
func waitCtx(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close closes every connection, cancels handlers' contexts and waits for the
// handlers and connection goroutines to return.
func (l *listener) Close() error {
	l.abort()
	l.wg.Wait()
	l.inlineTimer.Stop()
	l.pool.Wait()
	return nil
}

// abort is the hard stop without the wait: Shutdown uses it when its ctx ends, so that
// it returns on time even when a handler is slow to notice its cancelled ctx (Close
// still waits for it).
func (l *listener) abort() {
	l.closeOnce.Do(func() {
		conns := l.stop()
		l.kill()
		for _, sc := range conns {
			sc.closeHard()
		}
	})
}

// srvConn is the server side of one connection.
type srvConn struct {
	ls *listener
	h  channel.Handler

	mu     sync.Mutex
	l      *link // nil until the preface was exchanged
	nc     net.Conn
	ctx    context.Context
	cancel context.CancelFunc
	xs     map[uint64]*srvExchange
	peer   string
	tls    bool     // the connection is a *tls.Conn; set before the first request
	tlsIn  *tlsTail // what br reads over TLS: tells whether TLS holds unread bytes

	owMu sync.Mutex
	ow   oneWayIn

	// A call (not a stream, whose items wait for credit that the reader brings) that
	// arrives on an idle connection runs on the reader goroutine itself, which saves
	// waking a worker for it: the reply goes out one goroutine switch sooner. Meanwhile
	// nothing reads the connection, so the listener's watchdog hands reading to a new
	// goroutine (handOff) when the call runs longer than inlineTick: a handler that
	// waits for its cancel, or for a later request on the same connection, gets it.
	//
	// inlineRun names the run that holds reading: the number of a request run on the
	// reader (from inlineSeq), or 0 when the reader is reading. Whoever swaps it from a
	// run's number to 0 reads next: the reader once its request returns, or the
	// goroutine handOff starts. Naming the run, not just "running", keeps a reader whose
	// request was handed off from taking reading back from a later run.
	br         *bufio.Reader // read only by the goroutine that holds reading
	inlineRun  atomic.Uint64
	inlineSeq  uint64 // numbers runs; touched only by the goroutine that holds reading
	inlineSeen uint64 // inlineRun at the watchdog's last look; guarded by ls.mu
}

// handOff starts a new reader for a connection whose reader is in run.
func (sc *srvConn) handOff(run uint64) {
	// Counted before the switch: once it is made, the old reader may return.
	sc.ls.wg.Add(1)
	if !sc.inlineRun.CompareAndSwap(run, 0) {
		sc.ls.wg.Done()
		return
	}
	go sc.read()
}

// read is a reader that took over from one that runs a request.
func (sc *srvConn) read() {
	defer sc.ls.wg.Done()
	if sc.l.readLoop(sc.br, sc.dispatch) {
		return
	}
	sc.finish()
}

// finish is the end of the last reader of a connection.
func (sc *srvConn) finish() {
	<-sc.l.dead // after a protocol error the writer flushes the error reply, then closes
	sc.stopCreditTimer()
	sc.cancel()
	sc.forget()
}

func (sc *srvConn) forget() {
	sc.ls.mu.Lock()
	_, ok := sc.ls.conns[sc]
	delete(sc.ls.conns, sc)
	sc.ls.mu.Unlock()
	if ok {
		sc.ls.budget.Release(connCost)
	}
}

func (sc *srvConn) closeHard() {
	sc.mu.Lock()
	l, nc := sc.l, sc.nc
	sc.mu.Unlock()
	if l != nil {
		l.close(fmt.Errorf("framed: listener closed: %w", channel.ErrClosed))
	} else if nc != nil {
		nc.Close()
	}
}

func (sc *srvConn) run(nc net.Conn) {
	ls := sc.ls
	defer ls.wg.Done()
	sc.mu.Lock()
	sc.nc = nc
	sc.mu.Unlock()
	if ls.base.Err() != nil { // Close ran before nc was recorded
		nc.Close()
		sc.forget()
		return
	}
	var in io.Reader = nc
	if sc.tlsIn = newTLSTail(nc); sc.tlsIn != nil {
		in = sc.tlsIn
	}
	br := bufio.NewReaderSize(in, 32<<10)
	nc.SetDeadline(time.Now().Add(ls.cfg.DialTimeout))
	var p [prefaceLen]byte
	if _, err := io.ReadFull(br, p[:]); err != nil {
		refusePlaintext(err) // a TLS listener tells a plaintext jesus client why it goes
		nc.Close()
		sc.forget()
		return
	}
	if err := checkPreface(p[:]); err != nil {
		if !errors.Is(err, errNotJesus) {
			nc.Write(preface(0)) // tell the peer which version we speak
		}
		nc.Close()
		sc.forget()
		return
	}
	// A client that speaks one-way flow control gets the flag back and, as the first
	// frame, the window of credit it may spend.
	hello := preface(0)
	if p[5]&flagOneWay != 0 {
		sc.ow.flow = true
		hello[5] = flagOneWay
		cf := creditFrame(uint64(ls.cfg.OneWayWindow), 0, 0)
		hello = append(hello, *cf...)
		putBuf(cf)
	}
	if _, err := nc.Write(hello); err != nil {
		nc.Close()
		sc.forget()
		return
	}
	nc.SetDeadline(time.Time{})

	sc.peer = nc.RemoteAddr().String()
	if sc.peer == "" || sc.peer == "@" {
		sc.peer = ls.t.name + ":" + ls.Addr()
	}
	sc.ctx, sc.cancel = context.WithCancel(channel.WithBudget(ls.base, ls.budget))
	if tc, ok := nc.(*tls.Conn); ok {
		sc.tls = true
		cs := tc.ConnectionState()
		sc.ctx = channel.WithPeerTLS(sc.ctx, &cs)
	}
	lk := newLink(nc, &ls.cfg, ls.t.where)
	lk.budget = ls.budget
	lk.onClose = func(error) { sc.cancel() }
	sc.br = br
	sc.mu.Lock()
	sc.l = lk
	sc.mu.Unlock()
	if ls.base.Err() != nil {
		lk.close(fmt.Errorf("framed: listener closed: %w", channel.ErrClosed))
		sc.cancel()
		sc.forget()
		return
	}
	ls.wg.Add(1)
	go func() { defer ls.wg.Done(); lk.writeLoop() }()
	ls.mu.Lock()
	stopping := ls.stopping
	ls.mu.Unlock()
	if stopping {
		// Shutdown began while this connection was in its preface: it serves nothing
		// (requests get unavailable) and closes once drained.
		lk.drainLinger()
	}
	if lk.readLoop(br, sc.dispatch) {
		return // a request ran here and another goroutine reads on
	}
	sc.finish()
}

func (sc *srvConn) reject(id uint64, mode channel.Mode, code, msg string) {
	sc.l.send(&channel.Envelope{Type: channel.TypeError, ID: id, Mode: mode, ErrCode: code, ErrMessage: msg})
}

func (sc *srvConn) dispatch(in *inbound) error {
	e := &in.env
	switch e.Type {
	case channel.TypeRequest:
		return sc.request(in)
	case channel.TypeCancel, channel.TypeCredit:
		sc.mu.Lock()
		x := sc.xs[e.ID]
		sc.mu.Unlock()
		if x != nil {
			if e.Type == channel.TypeCancel {
				x.cancel()
			} else {
				x.addCredit(e.Credits)
			}
		}
		in.release()
		return nil
	}
	t, id := e.Type, e.ID
	in.release()
	return &protoError{id: id, msg: fmt.Sprintf("a client may not send envelope type %s", t)}
}

// request starts a handler for in. It returns errHandedOff when the handler ran on
// the calling reader goroutine and another goroutine reads on.
func (sc *srvConn) request(in *inbound) error {
	ls := sc.ls
	e := &in.env
	id, mode := e.ID, e.Mode
	if !mode.Valid() {
		in.release()
		sc.reject(id, mode, channel.CodeInvalidArgument, fmt.Sprintf("framed: request %d has no valid mode (got %d)", id, mode))
		return nil
	}
	if mode == channel.ModeNoResponse {
		sc.oneWay(in)
		return nil
	}
	ls.hmu.RLock()
	if ls.draining {
		ls.hmu.RUnlock()
		in.release()
		sc.reject(id, mode, channel.CodeUnavailable, "framed: server is shutting down")
		return nil
	}
	sc.mu.Lock()
	if len(sc.xs) >= ls.cfg.MaxInFlight {
		sc.mu.Unlock()
		ls.hmu.RUnlock()
		in.release()
		sc.reject(id, mode, channel.CodeResourceExhausted, fmt.Sprintf("framed: %d requests in flight on this connection (MaxInFlight %d)", ls.cfg.MaxInFlight, ls.cfg.MaxInFlight))
		return nil
	}
	if _, dup := sc.xs[id]; dup {
		sc.mu.Unlock()
		ls.hmu.RUnlock()
		in.release()
		sc.reject(id, mode, channel.CodeInvalidArgument, fmt.Sprintf("framed: request id %d is already in flight", id))
		return nil
	}
	x := &srvExchange{sc: sc, id: id, mode: mode}
	if e.Timeout > 0 {
		x.deadline, x.timeout, x.method = channel.ReplyDeadline(time.Now(), e.Timeout), e.Timeout, e.Method
	}
	if mode == channel.ModeStream {
		x.credits = e.Credits
		if x.credits == 0 {
			x.credits = uint32(ls.cfg.StreamWindow)
		}
		x.creditCh = make(chan struct{}, 1) // only streams wait for credit
	}
	x.ctx, x.cancel = context.WithCancel(sc.ctx)
	// Alone on the connection, with nothing more read yet: run it here. Over TLS only
	// when TLS holds nothing either (tlsTail): a request run here would stall the ones
	// behind it until the watchdog hands reading off.
	inline := (!sc.tls || sc.tlsIn != nil && sc.tlsIn.idle()) && mode != channel.ModeStream && len(sc.xs) == 0 && sc.br.Buffered() == 0
	sc.xs[id] = x
	sc.mu.Unlock()
	ls.handlers.Add(1)
	ls.wg.Add(1)
	ls.hmu.RUnlock()
	if !inline {
		ls.pool.Go(func() { sc.serve(x, in) })
		return nil
	}
	sc.inlineSeq++
	run := sc.inlineSeq
	sc.inlineRun.Store(run)
	ls.watchInline()
	sc.serve(x, in)
	if !sc.inlineRun.CompareAndSwap(run, 0) {
		return errHandedOff
	}
	return nil
}

// oneWay runs a noResponse request within the connection's one-way window, or drops
// it: nothing goes back but the credit and the count (PROTOCOL.md §2.5). Its id is not
// tracked (nothing can refer to it) and it does not count against MaxInFlight.
func (sc *srvConn) oneWay(in *inbound) {
	ls := sc.ls
	ls.owReceived.Add(1)
	cost := oneWayCost(len(*in.buf), sc.ow.window)
	ls.hmu.RLock()
	if ls.draining || !sc.owAdmit(cost) {
		ls.hmu.RUnlock()
		in.release()
		sc.owFinish(cost, false, true)
		return
	}
	t := ls.owTasks.Get().(*oneWayTask)
	t.x = srvExchange{sc: sc, id: in.env.ID, mode: channel.ModeNoResponse, ctx: sc.ctx}
	t.in, t.cost = in, cost
	ls.handlers.Add(1)
	ls.wg.Add(1)
	ls.hmu.RUnlock()
	ls.pool.Go(t.run)
}

// oneWayTask is a noResponse request with its ReplyWriter and the function that runs
// it, made once per pooled task, so that dispatching one allocates nothing.
type oneWayTask struct {
	x    srvExchange
	in   *inbound
	cost int // units of the one-way window it holds
	run  func()
}

func newOneWayTask() any {
	t := new(oneWayTask)
	t.run = func() { t.x.sc.serveOneWay(t) }
	return t
}

func (sc *srvConn) serveOneWay(t *oneWayTask) {
	ls := sc.ls
	defer ls.wg.Done()
	defer ls.handlers.Done()
	x := &t.x
	sc.h.ServeExchange(x.ctx, &t.in.env, x)
	x.mu.Lock()
	x.returned = true
	cost, dropped := t.cost, x.terminal
	x.mu.Unlock()
	t.in.release()
	t.x, t.in = srvExchange{}, nil // hold no references while pooled
	ls.owTasks.Put(t)
	// Before handlers.Done: Shutdown flushes the credit once every handler is done.
	sc.owFinish(cost, true, dropped)
}

func (sc *srvConn) serve(x *srvExchange, in *inbound) {
	ls := sc.ls
	defer ls.wg.Done()
	defer ls.handlers.Done()
	sc.h.ServeExchange(x.ctx, &in.env, x)
	x.mu.Lock()
	x.returned = true
	answered := x.terminal
	x.mu.Unlock()
	if !answered && x.mode != channel.ModeNoResponse && x.ctx.Err() == nil {
		if channel.IsLate(x.deadline) {
			var late channel.Envelope
			channel.LateReply(&late, x.method, x.timeout, "")
			late.ID, late.Mode = x.id, x.mode
			sc.l.send(&late)
		} else {
			sc.reject(x.id, x.mode, channel.CodeInternal, "framed: handler returned without a terminal reply")
		}
	}
	sc.mu.Lock()
	delete(sc.xs, x.id)
	sc.mu.Unlock()
	x.cancel()
	in.release()
}

// srvExchange is the ReplyWriter of one request.
type srvExchange struct {
	sc     *srvConn
	id     uint64
	mode   channel.Mode
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	credits  uint32
	creditCh chan struct{}
	terminal bool // noResponse: the handler refused the request (a TypeError reply)
	returned bool

	// A request with a timeout: a terminal reply after deadline goes out as
	// channel.LateReply (deadline_exceeded), the same on every transport.
	deadline time.Time
	timeout  time.Duration
	method   string
}

func (x *srvExchange) Peer() string { return x.sc.peer }

func (x *srvExchange) addCredit(n uint32) {
	if x.creditCh == nil {
		return // not a stream: credit means nothing
	}
	x.mu.Lock()
	if uint64(x.credits)+uint64(n) > 1<<32-1 {
		x.credits = 1<<32 - 1
	} else {
		x.credits += n
	}
	x.mu.Unlock()
	select {
	case x.creditCh <- struct{}{}:
	default:
	}
}

func (x *srvExchange) Send(ctx context.Context, r *channel.Envelope) error {
	if x.mode == channel.ModeNoResponse {
		if r.Type != channel.TypeError {
			return fmt.Errorf("framed: %s reply to noResponse request %d: %w", r.Type, x.id, channel.ErrNoReply)
		}
		// The handler refused the request: nothing goes on the wire, the request counts
		// as dropped, here and (through the credit) at the caller.
		x.mu.Lock()
		defer x.mu.Unlock()
		if x.terminal || x.returned {
			return fmt.Errorf("framed: Send after the exchange ended: %w", channel.ErrClosed)
		}
		x.terminal = true // for noResponse: dropped
		return nil
	}
	switch r.Type {
	case channel.TypeAck, channel.TypeResponse, channel.TypeEnd, channel.TypeError:
	case channel.TypeItem:
		if x.mode != channel.ModeStream {
			return fmt.Errorf("framed: Send of an item in %s mode (items need stream mode)", x.mode)
		}
	default:
		return fmt.Errorf("framed: Send needs ack, response, item, end or error, got %s", r.Type)
	}
	x.mu.Lock()
	if x.terminal || x.returned {
		x.mu.Unlock()
		return fmt.Errorf("framed: Send after the exchange ended: %w", channel.ErrClosed)
	}
	x.mu.Unlock()
	if x.ctx.Err() != nil {
		return x.gone()
	}
	if r.Type == channel.TypeItem {
		if err := x.takeCredit(ctx); err != nil {
			return err
		}
	}
	e := *r
	if r.Type.Terminal() && channel.IsLate(x.deadline) {
		channel.LateReply(&e, x.method, x.timeout, r.Meta.CorrID)
	}
	e.ID, e.Mode = x.id, x.mode
	b, err := appendFrame(&e, x.sc.ls.cfg.MaxMessage, x.sc.ls.t.where)
	if err != nil {
		if r.Type == channel.TypeItem {
			x.addCredit(1)
		}
		return err
	}
	if r.Type.Terminal() {
		x.mu.Lock()
		x.terminal = true
		x.mu.Unlock()
	}
	if r.Type == channel.TypeItem {
		// Items come in runs: the writer goroutine batches them into few writes.
		return x.sc.l.enqueue(b)
	}
	return x.sc.l.enqueueDirect(b)
}

// takeCredit blocks until the caller has granted room for one more item.
func (x *srvExchange) takeCredit(ctx context.Context) error {
	for {
		x.mu.Lock()
		if x.credits > 0 {
			x.credits--
			x.mu.Unlock()
			return nil
		}
		x.mu.Unlock()
		select {
		case <-x.creditCh:
		case <-ctx.Done():
			return ctx.Err()
		case <-x.ctx.Done():
			return x.gone()
		}
	}
}

func (x *srvExchange) gone() error {
	return fmt.Errorf("framed: exchange %d was cancelled by the caller, or its connection closed: %w", x.id, channel.ErrClosed)
}
