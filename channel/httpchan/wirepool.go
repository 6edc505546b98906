package httpchan

import (
	"bufio"
	"context"
	"net"
	"sync"
	"time"
)

// wireConn is one keep-alive connection of the client's own pool.
type wireConn struct {
	nc     net.Conn
	br     *bufio.Reader
	buf    []byte // the request head (and a small body) being written; the reply head read
	used   time.Time
	reused bool
	peeker
}

// wirePool holds a Conn's idle connections, most recently used on top, and every open one
// so that Close can end calls in flight.
type wirePool struct {
	mu      sync.Mutex
	idle    []*wireConn
	all     map[*wireConn]struct{}
	closed  bool
	sweeper bool // a sweep goroutine is running (it runs while idle is not empty)
	// open holds a token per open connection: at most maxConns, so that callers who
	// outrun the server wait for a connection instead of opening one per call in flight.
	open chan struct{}
	// freed says a connection went back to idle or was closed, to a caller waiting in get.
	freed chan struct{}
}

// maxConns is how many connections a Conn has open at once per server (PROTOCOL.md 4.4);
// a call past it waits, within its ctx, for one to come free.
const maxConns = maxIdleConns

// signal wakes one caller waiting in get, if any.
func (p *wirePool) signal() {
	select {
	case p.freed <- struct{}{}:
	default:
	}
}

// maxIdleConns is how many idle connections a Conn keeps per server (PROTOCOL.md 4.4).
const maxIdleConns = 256

// wireReadBuffer is the read buffer of a connection; reply heads may be longer.
const wireReadBuffer = 16 << 10

// wireBodyCopy is the largest body copied behind the head into one write; larger bodies go
// out as a second buffer of the same writev.
const wireBodyCopy = 16 << 10

// get returns an idle connection that is still open, or dials a new one while fewer than
// maxConns are open, or waits for one of those, until ctx ends.
func (c *conn) get(ctx context.Context) (*wireConn, error) {
	p := &c.pool
	now := time.Now()
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, c.errClosed()
		}
		if p.open == nil {
			p.open, p.freed = make(chan struct{}, maxConns), make(chan struct{}, 1)
		}
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			select {
			case p.open <- struct{}{}:
			case <-p.freed:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			break
		}
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		more := len(p.idle) > 0
		p.mu.Unlock()
		if more {
			p.signal() // pass the wake-up on: another waiter can have the next one
		}
		// A connection the server closed while idle (its IdleTimeout, a shutdown) would take
		// the request and lose it: look before using one.
		if now.Sub(w.used) < c.cfg.IdleTimeout && w.br.Buffered() == 0 && !w.peerClosed() {
			w.reused = true
			return w, nil
		}
		c.drop(w)
	}
	nc, err := c.dialer.DialContext(ctx, "tcp", c.dialAddr)
	if err != nil {
		<-p.open
		p.signal()
		return nil, err
	}
	raw := nc
	if c.wireTLS != nil {
		if nc, err = handshake(ctx, nc, c.wireTLS, c.cfg.DialTimeout); err != nil {
			<-p.open
			p.signal()
			return nil, err
		}
	}
	w := &wireConn{nc: nc, br: bufio.NewReaderSize(nc, wireReadBuffer), buf: make([]byte, 0, 1024)}
	// Peek at the socket under TLS: what a TLS 1.3 server sends unasked (session
	// tickets) comes before the first reply and is read with it, so bytes on an idle
	// connection still mean an alert or a close.
	w.init(raw)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		nc.Close()
		<-p.open
		return nil, c.errClosed()
	}
	if p.all == nil {
		p.all = make(map[*wireConn]struct{})
	}
	p.all[w] = struct{}{}
	p.mu.Unlock()
	return w, nil
}

// put returns a connection whose reply was read to its end to the idle pool.
func (c *conn) put(w *wireConn) {
	p := &c.pool
	w.used = time.Now()
	if cap(w.buf) > 64<<10 {
		w.buf = make([]byte, 0, 1024)
	}
	p.mu.Lock()
	if p.closed || len(p.idle) >= maxIdleConns {
		p.mu.Unlock()
		c.drop(w)
		return
	}
	p.idle = append(p.idle, w)
	if !p.sweeper {
		// Added while the pool is open, under the lock closePool takes before Close waits.
		p.sweeper = true
		c.wg.Add(1)
		go c.sweep()
	}
	p.mu.Unlock()
	p.signal()
}

// sweepEvery is how often idle connections are looked at: often enough that a server's
// closes do not pile up as half-closed sockets, rarely enough to cost nothing.
func sweepEvery(idle time.Duration) time.Duration {
	return min(max(idle/4, 100*time.Millisecond), 30*time.Second)
}

// sweep closes idle connections that the server closed or that sat idle past IdleTimeout,
// which get would otherwise only find when it reaches them. It ends when the pool has no
// idle connection left (put starts it again) or the Conn closes.
func (c *conn) sweep() {
	defer c.wg.Done()
	p := &c.pool
	t := time.NewTimer(sweepEvery(c.cfg.IdleTimeout))
	defer t.Stop()
	var dead []*wireConn
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		p.mu.Lock()
		keep := p.idle[:0]
		for _, w := range p.idle {
			if now.Sub(w.used) >= c.cfg.IdleTimeout || w.br.Buffered() > 0 || w.peerClosed() {
				dead = append(dead, w)
				continue
			}
			keep = append(keep, w)
		}
		clear(p.idle[len(keep):])
		p.idle = keep
		for _, w := range dead {
			delete(p.all, w)
		}
		done := len(p.idle) == 0
		if done {
			p.sweeper = false
		}
		p.mu.Unlock()
		for i, w := range dead {
			w.nc.Close()
			dead[i] = nil
			<-p.open // its place among the maxConns is free
			p.signal()
		}
		dead = dead[:0]
		if done {
			return
		}
		t.Reset(sweepEvery(c.cfg.IdleTimeout))
	}
}

// drop closes a connection and forgets it, freeing its place among the maxConns.
func (c *conn) drop(w *wireConn) {
	w.nc.Close()
	p := &c.pool
	p.mu.Lock()
	_, known := p.all[w]
	delete(p.all, w)
	p.mu.Unlock()
	if known {
		<-p.open
		p.signal()
	}
}

// closePool closes every connection, idle or in use: calls in flight fail.
func (c *conn) closePool() {
	p := &c.pool
	p.mu.Lock()
	p.closed = true
	for w := range p.all {
		w.nc.Close()
	}
	clear(p.all)
	p.idle = nil
	p.mu.Unlock()
}
