package framed

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// srvConn is the server side of one connection.
type srvConn struct {
	cost int64 // charged to the listener's budget at accept (costOf)
	ls   *listener
	h    channel.Handler

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
		sc.ls.budget.Release(sc.cost)
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
	br, ok := sc.handshake(nc)
	if !ok {
		nc.Close()
		sc.forget()
		return
	}

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

// handshake reads the client's preface off nc and answers it, within DialTimeout. When it
// returns false the connection is to be closed.
func (sc *srvConn) handshake(nc net.Conn) (*bufio.Reader, bool) {
	ls := sc.ls
	var in io.Reader = nc
	if sc.tlsIn = newTLSTail(nc); sc.tlsIn != nil {
		in = sc.tlsIn
	}
	br := bufio.NewReaderSize(in, 32<<10)
	nc.SetDeadline(time.Now().Add(ls.cfg.DialTimeout))
	var p [prefaceLen]byte
	if _, err := io.ReadFull(br, p[:]); err != nil {
		refusePlaintext(err) // a TLS listener tells a plaintext jesus client why it goes
		return nil, false
	}
	if err := checkPreface(p[:]); err != nil {
		if !errors.Is(err, errNotJesus) {
			nc.Write(preface(0)) // tell the peer which version we speak
		}
		return nil, false
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
		return nil, false
	}
	nc.SetDeadline(time.Time{})
	return br, true
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
