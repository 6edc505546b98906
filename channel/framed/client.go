package framed

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// client is a channel.Conn: PoolSize connections to one address, dialled lazily and
// used round-robin; a broken connection is redialled on its next use.
type client struct {
	t    *transport
	addr string
	cfg  channel.Config
	tls  *tls.Config // cfg.TLS with the server name filled in; nil for plaintext

	next   atomic.Uint32
	slots  []slot
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup // reader and writer goroutines of every connection

	closedFlag atomic.Bool // closed, readable without c.mu on the hot path

	// nextID numbers requests across the pool, so an id is unique on whichever
	// connection carries it (a noResponse request picks its connection after encoding).
	nextID atomic.Uint64

	owMu                                   sync.Mutex
	owWake                                 chan struct{} // closed by owBroadcast; see owWait
	owSent, owDelivered, owDropped, owLost atomic.Uint64
}

type slot struct {
	mu sync.Mutex // serialises dialling of this slot
	cc atomic.Pointer[cliConn]
}

// cliConn is one client connection and its open exchanges.
type cliConn struct {
	c   *client
	l   *link
	mu  sync.Mutex
	xs  map[uint64]*exchange
	err error // set when the link died; later exchanges fail at once

	owMu sync.Mutex
	ow   oneWayOut
}

func (c *client) Open(ctx context.Context, req *channel.Envelope) (channel.Exchange, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req.Type != channel.TypeRequest && req.Type != 0 {
		return nil, fmt.Errorf("framed: Open needs a request envelope, got type %s", req.Type)
	}
	if !req.Mode.Valid() {
		return nil, fmt.Errorf("framed: request mode %d is not one of noResponse, ack, response, stream", req.Mode)
	}
	if c.closedFlag.Load() {
		return nil, fmt.Errorf("framed: Open on a closed %s connection to %s: %w", c.t.name, c.addr, channel.ErrClosed)
	}
	if req.Mode == channel.ModeNoResponse {
		return nil, c.openOneWay(ctx, req)
	}
	// A connection found dead before anything was sent on it is replaced and the
	// request goes out on the new one; after that the error is the caller's.
	for attempt := 0; ; attempt++ {
		x, sent, err := c.open(ctx, req)
		if err == nil || sent || attempt == 1 || c.closedFlag.Load() {
			return x, err
		}
	}
}

// open sends req on the next connection of the pool; sent reports whether the
// request may have reached the wire.
func (c *client) open(ctx context.Context, req *channel.Envelope) (_ channel.Exchange, sent bool, _ error) {
	cc, err := c.conn(ctx)
	if err != nil {
		return nil, true, err // dial errors are not retried here
	}
	e := *req
	e.Type = channel.TypeRequest
	e.ID = c.nextID.Add(1)
	e.Credits = 0
	if e.Mode == channel.ModeStream {
		e.Credits = uint32(c.cfg.StreamWindow)
	}
	b, err := appendFrame(&e, c.cfg.MaxMessage, c.t.where)
	if err != nil {
		return nil, true, err
	}
	x := &exchange{cc: cc, id: e.ID, mode: e.Mode, window: c.cfg.StreamWindow, notify: make(chan struct{}, 1)}
	x.qbase = x.q0[:0]
	if e.Mode == channel.ModeStream {
		x.qbase = make([]*inbound, 0, min(c.cfg.StreamWindow+1, 1024))
	}
	x.q = x.qbase
	cc.mu.Lock()
	if cc.err != nil {
		err := cc.err
		cc.mu.Unlock()
		putBuf(b)
		return nil, false, err
	}
	cc.xs[e.ID] = x
	cc.mu.Unlock()
	if err := cc.l.enqueueDirect(b); err != nil {
		cc.remove(e.ID)
		return nil, false, err
	}
	return x, true, nil
}

// conn returns the next connection of the pool, dialling it when needed.
func (c *client) conn(ctx context.Context) (*cliConn, error) {
	return c.slotConn(ctx, int(c.next.Add(1))%len(c.slots))
}

// slotConn returns the connection of slot i, dialling it when needed.
func (c *client) slotConn(ctx context.Context, i int) (*cliConn, error) {
	s := &c.slots[i]
	if cc := s.cc.Load(); cc != nil && cc.alive() {
		return cc, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cc := s.cc.Load(); cc != nil && cc.alive() {
		return cc, nil
	}
	cc, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	s.cc.Store(cc)
	return cc, nil
}

func (cc *cliConn) alive() bool {
	select {
	case <-cc.l.dead:
		return false
	default:
		return true
	}
}

func (c *client) dial(ctx context.Context) (*cliConn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, fmt.Errorf("framed: Open on a closed %s connection to %s: %w", c.t.name, c.addr, channel.ErrClosed)
	}
	c.wg.Add(2) // counted before dialling so that Close waits for this connection
	c.mu.Unlock()
	started := false
	defer func() {
		if !started {
			c.wg.Add(-2)
		}
	}()
	d := net.Dialer{Timeout: c.cfg.DialTimeout}
	nc, err := d.DialContext(ctx, c.t.name, c.addr)
	if err != nil {
		return nil, fmt.Errorf("framed: dial %s %s: %w", c.t.name, c.addr, err)
	}
	dl := time.Now().Add(c.cfg.DialTimeout)
	if cdl, ok := ctx.Deadline(); ok && cdl.Before(dl) {
		dl = cdl
	}
	nc.SetDeadline(dl)
	if c.tls != nil {
		if nc, err = handshake(ctx, nc, c.tls); err != nil {
			return nil, fmt.Errorf("framed: TLS handshake with %s %s: %w", c.t.name, c.addr, err)
		}
	}
	br := bufio.NewReaderSize(nc, 32<<10)
	if _, err := nc.Write(preface(flagOneWay)); err != nil {
		nc.Close()
		return nil, fmt.Errorf("framed: preface to %s: %w", c.addr, err)
	}
	var p [prefaceLen]byte
	if _, err := io.ReadFull(br, p[:]); err != nil {
		nc.Close()
		return nil, fmt.Errorf("framed: preface from %s: %w", c.addr, err)
	}
	if err := checkPreface(p[:]); err != nil {
		nc.Close()
		return nil, fmt.Errorf("%w (%s)", err, c.addr)
	}
	if err := earlyRefusal(br, p[5], c.addr); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	cc := &cliConn{c: c, l: newLink(nc, &c.cfg, c.t.where), xs: make(map[uint64]*exchange)}
	cc.ow.flow = p[5]&flagOneWay != 0
	cc.l.onClose = cc.failAll
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		nc.Close()
		return nil, fmt.Errorf("framed: Open on a closed %s connection to %s: %w", c.t.name, c.addr, channel.ErrClosed)
	}
	started = true
	go func() { defer c.wg.Done(); cc.l.writeLoop() }()
	go func() { defer c.wg.Done(); cc.l.readLoop(br, cc.dispatch) }()
	c.mu.Unlock()
	return cc, nil
}

func (c *client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.closedFlag.Store(true)
	c.mu.Unlock()
	c.owBroadcast() // senders waiting for one-way credit give up
	for i := range c.slots {
		s := &c.slots[i]
		s.mu.Lock() // waits for a dial in progress
		if cc := s.cc.Load(); cc != nil {
			cc.l.close(fmt.Errorf("framed: connection to %s closed: %w", c.addr, channel.ErrClosed))
		}
		s.mu.Unlock()
	}
	c.wg.Wait()
	return nil
}

// dispatch routes a reply to its exchange; replies for exchanges that are gone
// (cancelled or closed) are dropped.
func (cc *cliConn) dispatch(in *inbound) error {
	switch in.env.Type {
	case channel.TypeAck, channel.TypeResponse, channel.TypeItem, channel.TypeEnd, channel.TypeError:
	case channel.TypeCredit:
		if in.env.ID == 0 {
			err := cc.owCredit(&in.env)
			in.release()
			return err
		}
		fallthrough
	default:
		t := in.env.Type
		in.release()
		return &protoError{msg: fmt.Sprintf("a server may not send envelope type %s", t)}
	}
	terminal := in.env.Type.Terminal()
	cc.mu.Lock()
	x := cc.xs[in.env.ID]
	if x != nil && terminal {
		delete(cc.xs, in.env.ID)
	}
	cc.mu.Unlock()
	if x == nil {
		if in.env.ID == 0 && in.env.Type == channel.TypeError {
			// The server reports a framing error and closes the connection.
			msg := in.env.ErrMessage
			in.release()
			return fmt.Errorf("framed: server reported %s", msg)
		}
		in.release()
		return nil
	}
	if !x.push(in) {
		return &protoError{id: x.id, msg: fmt.Sprintf("stream %d sent more than its window of %d items", x.id, x.window)}
	}
	return nil
}

func (cc *cliConn) remove(id uint64) {
	cc.mu.Lock()
	delete(cc.xs, id)
	cc.mu.Unlock()
}

// failAll fails every open exchange when the connection dies.
func (cc *cliConn) failAll(cause error) {
	cc.owFail()
	err := cc.l.failure()
	if err == nil {
		err = cause
	}
	cc.mu.Lock()
	cc.err = err
	xs := cc.xs
	cc.xs = map[uint64]*exchange{}
	cc.mu.Unlock()
	for _, x := range xs {
		x.fail(err)
	}
}

// exchange is the client side of one call.
type exchange struct {
	cc     *cliConn
	id     uint64
	mode   channel.Mode
	window int

	mu       sync.Mutex
	q        []*inbound
	qbase    []*inbound  // q's backing array, reused whenever q runs empty
	q0       [1]*inbound // qbase for the common single reply
	err      error       // connection failure
	terminal bool        // a terminal reply was queued
	dropped  bool        // Close ran: replies that still arrive are released at once
	notify   chan struct{}

	// Owned by the goroutine calling Recv/Close.
	cur      *inbound
	eof      bool
	closed   bool
	consumed int
}

// push queues a reply; false means the server overran the stream window.
func (x *exchange) push(in *inbound) bool {
	x.mu.Lock()
	if x.dropped {
		x.mu.Unlock()
		in.release()
		return true
	}
	if len(x.q) > x.window {
		x.mu.Unlock()
		in.release()
		return false
	}
	x.q = append(x.q, in)
	if in.env.Type.Terminal() {
		x.terminal = true
	}
	x.mu.Unlock()
	select {
	case x.notify <- struct{}{}:
	default:
	}
	return true
}

func (x *exchange) fail(err error) {
	x.mu.Lock()
	x.err = err
	x.mu.Unlock()
	select {
	case x.notify <- struct{}{}:
	default:
	}
}

func (x *exchange) Recv(ctx context.Context) (*channel.Envelope, error) {
	if x.cur != nil {
		x.cur.release()
		x.cur = nil
	}
	if x.closed {
		return nil, fmt.Errorf("framed: Recv on a closed exchange: %w", channel.ErrClosed)
	}
	if x.eof {
		return nil, io.EOF
	}
	for {
		x.mu.Lock()
		if len(x.q) > 0 {
			in := x.q[0]
			x.q[0] = nil
			x.q = x.q[1:]
			if len(x.q) == 0 {
				x.q = x.qbase
			}
			x.mu.Unlock()
			x.cur = in
			switch {
			case in.env.Type.Terminal():
				x.eof = true
			case in.env.Type == channel.TypeItem:
				x.credit()
			}
			return &in.env, nil
		}
		err := x.err
		x.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-x.notify:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// credit returns flow-control credit once half the window has been consumed.
func (x *exchange) credit() {
	x.consumed++
	half := x.window / 2
	if half < 1 {
		half = 1
	}
	if x.consumed >= half {
		n := x.consumed
		x.consumed = 0
		x.cc.l.send(&channel.Envelope{Type: channel.TypeCredit, ID: x.id, Credits: uint32(n)})
	}
}

func (x *exchange) Close() error {
	if x.closed {
		return nil
	}
	x.closed = true
	if x.cur != nil {
		x.cur.release()
		x.cur = nil
	}
	x.mu.Lock()
	q := x.q
	x.q = nil
	x.dropped = true
	done := x.terminal || x.err != nil
	x.mu.Unlock()
	for _, in := range q {
		in.release()
	}
	if !done && !x.eof {
		x.cc.remove(x.id)
		x.cc.l.send(&channel.Envelope{Type: channel.TypeCancel, ID: x.id})
	}
	return nil
}
