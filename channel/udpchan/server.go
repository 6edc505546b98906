package udpchan

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/net/ipv4"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/internal/workerpool"
)

// Stats counts what a Listener did with the datagrams it read. Nothing that is dropped
// is answered, except where noted; every drop is counted in exactly one field.
type Stats struct {
	Received   uint64 // datagrams read from the socket
	Dropped    uint64 // well-formed but not served: replies or unknown types sent to a listener, response/stream requests (answered unimplemented), requests during Shutdown (ack ones answered unavailable)
	Oversize   uint64 // datagrams larger than the limit (MaxDatagram, or MaxMessage if smaller)
	Malformed  uint64 // datagrams that are not a valid envelope, or a request without a mode
	Duplicates uint64 // ack-mode requests already seen in the dedup window (answered from the cache if answered)
	Overloaded uint64 // requests over MaxInFlight: ack ones answered resource_exhausted, noResponse ones dropped
	Evicted    uint64 // answered exchanges forgotten before their dedup window ended, at the table's bound
	Remembered uint64 // exchanges in the dedup table now (a gauge, not a count)
	Trimmed    uint64 // replies cut down (or, when not even a bare reply fits, not sent) to stay within 3x the request's size
}

// Listener is the server side: one socket, one reader loop (Serve), handlers in
// goroutines bounded by Config.MaxInFlight for the whole listener (udp has no
// connections). Its methods are safe for concurrent use.
type Listener struct {
	cfg   channel.Config
	limit int
	pc    *net.UDPConn
	addr  string
	log   func(msg string, args ...any)

	base       context.Context // handlers' contexts derive from it; cancelled by Close
	cancelBase context.CancelFunc

	pool sync.Pool // *inbound

	mu       sync.Mutex
	h        channel.Handler
	serving  bool
	draining bool
	closed   bool
	active   atomic.Int64     // running handlers; changed under mu, read without it by yieldIfFull
	handlers sync.WaitGroup   // running handlers; for tests
	workers  *workerpool.Pool // runs handlers on reused goroutines
	idle     chan struct{}    // closed once draining with no handler running
	idleDone bool
	dedup    *dedupTable

	lastReply atomic.Int64 // unix nanoseconds of the last reply written, for Shutdown's linger

	received, dropped, oversize, malformed, duplicates, overloaded, trimmed atomic.Uint64

	owReceived, owDropped atomic.Uint64 // noResponse requests read, and of those not run
}

// inbound is a pooled read buffer with the envelope parsed from it, and what its
// handler's run needs, so that dispatching a datagram allocates nothing; it belongs to
// the handler until the handler returns.
type inbound struct {
	buf  []byte
	env  channel.Envelope
	w    replyWriter
	peer netip.AddrPort
	// For run: the request's context (the listener's base for noResponse), cancel and
	// dedup entry (ack mode only), and the task given to the worker pool, made once.
	ctx    context.Context
	cancel context.CancelFunc
	e      *dedupEntry
	task   func()
	// deadline is when a reply is late (channel.ReplyDeadline); reqSize the bytes of the
	// request datagram, which bound its reply (amplification).
	deadline time.Time
	reqSize  int
}

func listen(ctx context.Context, addr string, cfg channel.Config, o options) (*Listener, error) {
	cfg, err := config(cfg)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("udpchan: listen %s: %w", addr, err)
	}
	uc := pc.(*net.UDPConn)
	uc.SetReadBuffer(4 << 20) // best effort; the kernel caps it at rmem_max
	base, cancel := context.WithCancel(context.Background())
	l := &Listener{
		cfg:        cfg,
		limit:      limit(cfg),
		pc:         uc,
		addr:       uc.LocalAddr().String(),
		log:        cfg.Logger.Debug,
		base:       base,
		cancelBase: cancel,
		idle:       make(chan struct{}),
		dedup:      newDedupTable(cfg.DedupWindow, o.dedupEntries, o.dedupBytes),
		workers:    workerpool.New(10 * time.Second),
	}
	l.pool.New = func() any {
		in := &inbound{buf: make([]byte, l.limit+1)}
		in.task = func() { l.run(in) }
		return in
	}
	return l, nil
}

// Addr is the bound address, e.g. "127.0.0.1:43117".
func (l *Listener) Addr() string { return l.addr }

// Stats returns the listener's counts so far.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	l.dedup.sweep(time.Now())
	ev, rem := l.dedup.evicted, uint64(l.dedup.len())
	l.mu.Unlock()
	return Stats{
		Received: l.received.Load(), Dropped: l.dropped.Load(), Oversize: l.oversize.Load(),
		Malformed: l.malformed.Load(), Duplicates: l.duplicates.Load(), Overloaded: l.overloaded.Load(),
		Evicted: ev, Remembered: rem, Trimmed: l.trimmed.Load(),
	}
}

// OneWayListenerStats counts the noResponse requests read (Received) and of those the
// ones not run (Dropped): during Shutdown, over MaxInFlight, or refused by the handler
// with a TypeError reply. Unlike Stats it counts requests, not datagrams.
func (l *Listener) OneWayListenerStats() channel.OneWayListenerStats {
	return channel.OneWayListenerStats{Received: l.owReceived.Load(), Dropped: l.owDropped.Load()}
}

// Serve reads datagrams and dispatches requests to h until Close (or the end of
// Shutdown); it then returns an error wrapping channel.ErrClosed. While Shutdown
// drains, Serve keeps reading so that duplicates still get their cached ack and new
// requests get a definite answer (ack mode: error unavailable).
func (l *Listener) Serve(h channel.Handler) error {
	if h == nil {
		return errors.New("udpchan: Serve needs a non-nil handler")
	}
	l.mu.Lock()
	switch {
	case l.closed:
		l.mu.Unlock()
		return fmt.Errorf("udpchan: serve: %w", channel.ErrClosed)
	case l.serving:
		l.mu.Unlock()
		return errors.New("udpchan: Serve called twice on one listener")
	}
	l.serving, l.h = true, h
	l.mu.Unlock()
	// One recvmmsg fills up to a batch of pooled buffers; each datagram read is handed
	// on with its buffer, and a fresh one takes its place for the next read.
	bc := newBatchConn(l.pc)
	ins := make([]*inbound, readBatchSize(l.limit))
	msgs := make([]ipv4.Message, len(ins))
	for i := range ins {
		ins[i] = l.pool.Get().(*inbound)
		msgs[i].Buffers = [][]byte{ins[i].buf}
	}
	defer func() {
		for _, in := range ins {
			l.putInbound(in)
		}
	}()
	for {
		k, err := bc.ReadBatch(msgs, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || l.isClosed() {
				return fmt.Errorf("udpchan: serve: %w", channel.ErrClosed)
			}
			continue
		}
		for i := range k {
			in, n, peer := ins[i], msgs[i].N, addrPort(msgs[i].Addr)
			ins[i] = l.pool.Get().(*inbound)
			msgs[i].Buffers[0] = ins[i].buf
			msgs[i].Addr = nil
			l.handle(in, n, peer)
		}
	}
}

// handle processes one datagram of n bytes in in.buf. It takes ownership of in.
func (l *Listener) handle(in *inbound, n int, peer netip.AddrPort) {
	l.received.Add(1)
	if n > l.limit {
		l.oversize.Add(1)
		l.putInbound(in)
		return
	}
	req := &in.env
	if err := channel.ParseEnvelope(in.buf[:n], req); err != nil {
		l.malformed.Add(1)
		l.log("udpchan: dropped malformed datagram", "peer", peer, "bytes", n, "err", err)
		l.putInbound(in)
		return
	}
	id, mode := req.ID, req.Mode
	switch req.Type {
	case channel.TypeRequest:
	case channel.TypeCancel:
		l.cancelExchange(dedupKey{peer, id})
		l.putInbound(in)
		return
	default:
		l.dropped.Add(1)
		l.log("udpchan: dropped datagram that is not a request", "peer", peer, "type", req.Type)
		l.putInbound(in)
		return
	}
	switch mode {
	case channel.ModeNoResponse:
		l.startNoResponse(in, peer)
	case channel.ModeAck:
		l.startAck(in, n, peer)
	case channel.ModeResponse, channel.ModeStream:
		l.dropped.Add(1)
		l.putInbound(in)
		l.sendError(peer, n, id, mode, channel.CodeUnimplemented, "udpchan: "+errModes)
	default:
		l.malformed.Add(1)
		l.log("udpchan: dropped request without a mode", "peer", peer)
		l.putInbound(in)
	}
}

// yieldIfFull lets handlers run before a request is refused as overload. Handlers
// started by this reader wait in its processor's run queue; a burst read faster than
// they are scheduled would otherwise hit MaxInFlight while they are only queued.
func (l *Listener) yieldIfFull() {
	if l.active.Load() >= int64(l.cfg.MaxInFlight) {
		runtime.Gosched()
	}
}

func (l *Listener) startNoResponse(in *inbound, peer netip.AddrPort) {
	l.owReceived.Add(1)
	l.yieldIfFull()
	l.mu.Lock()
	switch {
	case l.closed || l.draining:
		l.mu.Unlock()
		l.dropped.Add(1)
		l.owDropped.Add(1)
		l.putInbound(in)
		return
	case l.active.Load() >= int64(l.cfg.MaxInFlight):
		l.mu.Unlock()
		l.overloaded.Add(1)
		l.owDropped.Add(1)
		l.putInbound(in)
		return
	}
	l.active.Add(1)
	l.handlers.Add(1)
	l.mu.Unlock()
	in.ctx, in.peer = l.base, peer
	l.workers.Go(in.task)
}

func (l *Listener) startAck(in *inbound, n int, peer netip.AddrPort) {
	k := dedupKey{peer, in.env.ID}
	l.yieldIfFull()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.dropped.Add(1)
		l.putInbound(in)
		return
	}
	if e := l.dedup.get(k, time.Now()); e != nil {
		reply := e.reply
		l.mu.Unlock()
		l.duplicates.Add(1)
		l.putInbound(in)
		if reply != nil {
			l.write(reply, n, peer) // best effort: the sender retransmits
		}
		return
	}
	if l.draining {
		l.mu.Unlock()
		l.dropped.Add(1)
		l.putInbound(in)
		l.sendError(peer, n, k.id, channel.ModeAck, channel.CodeUnavailable, "udpchan: listener is shutting down")
		return
	}
	if l.active.Load() >= int64(l.cfg.MaxInFlight) {
		l.mu.Unlock()
		l.overloaded.Add(1)
		l.putInbound(in)
		l.sendError(peer, n, k.id, channel.ModeAck, channel.CodeResourceExhausted,
			fmt.Sprintf("udpchan: %d requests in flight, the MaxInFlight limit", l.cfg.MaxInFlight))
		return
	}
	ctx, cancel := context.WithCancel(l.base)
	e := l.dedup.begin(k, cancel)
	l.active.Add(1)
	l.handlers.Add(1)
	l.mu.Unlock()
	in.ctx, in.cancel, in.e, in.peer, in.reqSize = ctx, cancel, e, peer, n
	in.deadline = channel.ReplyDeadline(time.Now(), in.env.Timeout)
	l.workers.Go(in.task)
}

// run serves one request: in.e is its dedup entry (ack mode) or nil (noResponse).
func (l *Listener) run(in *inbound) {
	defer l.handlers.Done()
	ctx, cancel, e := in.ctx, in.cancel, in.e
	w := &in.w
	*w = replyWriter{l: l, peer: in.peer, id: in.env.ID, mode: in.env.Mode, e: e,
		deadline: in.deadline, timeout: in.env.Timeout, method: in.env.Method, reqSize: in.reqSize}
	method := in.env.Method
	l.h.ServeExchange(ctx, &in.env, w)
	if e != nil && !w.terminal {
		// The caller would retransmit until its deadline; tell it instead (Send turns
		// this into deadline_exceeded when that has passed).
		w.Send(context.Background(), &channel.Envelope{Type: channel.TypeError, ErrCode: channel.CodeInternal,
			ErrMessage: fmt.Sprintf("udpchan: handler of %q returned without an ack or error", method)})
	}
	w.terminal = true
	if cancel != nil {
		cancel()
	}
	l.putInbound(in)
	l.mu.Lock()
	if e != nil {
		l.dedup.forget(e) // only if the reply could not be recorded
	}
	l.active.Add(-1)
	l.signalIdleLocked()
	l.mu.Unlock()
}

func (l *Listener) signalIdleLocked() {
	if l.draining && l.active.Load() == 0 && !l.idleDone {
		l.idleDone = true
		close(l.idle)
	}
}

func (l *Listener) cancelExchange(k dedupKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.dedup.get(k, time.Now()); e != nil && !e.answered && e.cancel != nil {
		e.cancel()
	}
}

// sendError answers a request of reqSize bytes that no handler will see. Nothing is
// cached: a retransmission is judged afresh (capacity may be back by then). The error is
// bounded like every reply (see bounded).
func (l *Listener) sendError(peer netip.AddrPort, reqSize int, id uint64, mode channel.Mode, code, msg string) {
	e := channel.Envelope{Type: channel.TypeError, Mode: mode, ID: id, ErrCode: code, ErrMessage: msg}
	l.write(channel.AppendEnvelope(nil, &e), reqSize, peer) // best effort, like every udp datagram
}

// write sends a reply datagram, bounded to the amplification limit of the request it
// answers; cut-down and unsent replies are counted (Stats.Trimmed).
func (l *Listener) write(reply []byte, reqSize int, peer netip.AddrPort) error {
	b, cut := bounded(reply, reqSize)
	if cut {
		l.trimmed.Add(1)
	}
	if b == nil {
		return nil
	}
	_, err := l.pc.WriteToUDPAddrPort(b, peer)
	l.lastReply.Store(time.Now().UnixNano())
	return err
}

func (l *Listener) putInbound(in *inbound) {
	// Hold no references to Meta, strings, contexts or entries.
	in.env, in.w, in.ctx, in.cancel, in.e = channel.Envelope{}, replyWriter{}, nil, nil, nil
	in.deadline, in.reqSize = time.Time{}, 0
	l.pool.Put(in)
}

func (l *Listener) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// Shutdown stops taking new requests (ack ones are answered unavailable, noResponse
// ones dropped; duplicates of answered ones still get their cached reply), waits for
// running handlers to return and for senders of lost acks to ask again (see linger),
// then closes. If ctx ends first it closes hard, which
// cancels the handlers' contexts, and returns ctx's error.
func (l *Listener) Shutdown(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.draining = true
	l.signalIdleLocked()
	l.mu.Unlock()
	select {
	case <-l.idle:
		l.linger(ctx)
		return l.Close()
	case <-ctx.Done():
		l.Close()
		return ctx.Err()
	}
}

// linger keeps the socket open after the last handler returned, answering duplicates of
// answered requests from the cache (and new ones unavailable), until no reply has gone
// out for 4 RetryIntervals or ctx ends. A sender whose ack was lost retransmits within
// that time and gets its ack, instead of the port-unreachable of a closed socket, which
// it would take for "nothing listens here" and try elsewhere: a second run of a request
// that was handled.
func (l *Listener) linger(ctx context.Context) {
	quiet := 4 * l.cfg.RetryInterval
	for {
		wait := time.Until(time.Unix(0, l.lastReply.Load()).Add(quiet))
		if wait <= 0 {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Close closes the socket at once and cancels the handlers' contexts; it does not
// wait for handlers to return (Shutdown does). Replies they send afterwards fail with
// an error wrapping channel.ErrClosed. Safe to call more than once.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.workers.Stop() // idle workers end now, busy ones with their handler
	l.cancelBase()
	if err := l.pc.Close(); err != nil {
		return fmt.Errorf("udpchan: close: %w", err)
	}
	return nil
}

// replyWriter answers one request. Only ack-mode requests take replies: one TypeAck or
// TypeError, which is also cached for the request's duplicates.
type replyWriter struct {
	l        *Listener
	peer     netip.AddrPort
	id       uint64
	mode     channel.Mode
	e        *dedupEntry
	terminal bool

	deadline time.Time     // a reply after it goes out as channel.LateReply
	timeout  time.Duration // the request's
	method   string
	reqSize  int // bytes of the request datagram
}

func (w *replyWriter) Peer() string { return w.peer.String() }

// Send writes the ack or error. To a noResponse request nothing goes back: a TypeError
// reply counts the request as dropped (OneWayListenerStats) and returns nil, any other
// reply fails with channel.ErrNoReply. An error reply larger than the datagram limit is sent
// without data and details and with its message shortened, rather than not at all; an
// oversized ack is refused with a *channel.TooLargeError and the handler may send an
// error instead.
func (w *replyWriter) Send(ctx context.Context, reply *channel.Envelope) error {
	switch {
	case w.mode == channel.ModeNoResponse && reply != nil && reply.Type == channel.TypeError:
		if w.terminal {
			return fmt.Errorf("udpchan: reply to request %d after its error: %w", w.id, channel.ErrClosed)
		}
		w.terminal = true
		w.l.owDropped.Add(1)
		return nil
	case w.mode == channel.ModeNoResponse:
		return fmt.Errorf("udpchan: reply to noResponse request %d: %w", w.id, channel.ErrNoReply)
	case w.terminal:
		return fmt.Errorf("udpchan: reply to request %d after its ack or error: %w", w.id, channel.ErrClosed)
	case reply == nil || (reply.Type != channel.TypeAck && reply.Type != channel.TypeError):
		t := channel.Type(0)
		if reply != nil {
			t = reply.Type
		}
		return fmt.Errorf("udpchan: an ack-mode request takes an ack or error reply, not %s", t)
	}
	// ctx is not consulted: a datagram write does not block, and an ack the handler
	// decided to send is worth sending even when its context just ended.
	r := *reply
	if channel.IsLate(w.deadline) {
		channel.LateReply(&r, w.method, w.timeout, reply.Meta.CorrID)
	}
	r.ID, r.Mode = w.id, w.mode
	b := channel.AppendEnvelope(nil, &r)
	if len(b) > w.l.limit {
		if r.Type != channel.TypeError {
			return tooLarge(len(b), w.l.limit)
		}
		b = fitError(&r, w.l.limit)
	}
	w.terminal = true
	w.l.mu.Lock()
	w.l.dedup.answer(w.e, b, time.Now())
	w.l.mu.Unlock()
	if err := w.l.write(b, w.reqSize, w.peer); err != nil {
		return closedErr("send "+r.Type.String(), err)
	}
	return nil
}

// fitError encodes an error reply that fits limit: the code and a shortened message,
// without data, details or meta.
func fitError(r *channel.Envelope, limit int) []byte {
	m := channel.Envelope{Type: channel.TypeError, Mode: r.Mode, ID: r.ID, ErrCode: r.ErrCode, ErrMessage: r.ErrMessage}
	if len(m.ErrCode) > 64 {
		m.ErrCode = m.ErrCode[:64]
	}
	b := channel.AppendEnvelope(nil, &m)
	if over := len(b) - limit; over > 0 {
		keep := max(len(m.ErrMessage)-over-len(" [truncated]"), 0)
		for keep > 0 && !utf8.RuneStart(m.ErrMessage[keep]) {
			keep--
		}
		m.ErrMessage = m.ErrMessage[:keep] + " [truncated]"
		b = channel.AppendEnvelope(nil, &m)
	}
	return b
}
