package httpchan

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// The client sends response, ack and noResponse calls over plain http itself rather than
// through net/http's Transport: the caller's goroutine writes the request in one write and
// reads the reply in Recv, so a call costs no goroutine hand-offs and no per-request
// goroutine, and the head is built and parsed without canonicalising or copying headers.
// The bytes on the wire are those of PROTOCOL.md section 4 either way. Streams (full
// duplex with credit) and https go through net/http.

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

// wireHead appends a request head's header fields to a byte slice.
type wireHead struct{ b []byte }

func (h *wireHead) set(key, value string) {
	h.b = append(h.b, key...)
	h.b = append(h.b, ": "...)
	h.b = append(h.b, value...)
	h.b = append(h.b, "\r\n"...)
}

func (h *wireHead) setInt(key string, v int64) {
	h.b = append(h.b, key...)
	h.b = append(h.b, ": "...)
	h.b = strconv.AppendInt(h.b, v, 10)
	h.b = append(h.b, "\r\n"...)
}

// appendRequest appends the head of e's request (and its body when small) to dst.
func (c *conn) appendRequest(dst []byte, e *channel.Envelope) ([]byte, error) {
	if e.Method == "" {
		return dst, errors.New("httpchan: request without a method (the path would be empty)")
	}
	if !e.Mode.Valid() {
		return dst, fmt.Errorf("httpchan: request has unknown mode %d", e.Mode)
	}
	h := wireHead{b: dst}
	h.b = append(h.b, "POST "...)
	h.b = append(h.b, c.basePath...)
	h.b = append(h.b, '/')
	h.b = appendPathEscaped(h.b, e.Method)
	h.b = append(h.b, " HTTP/1.1\r\nHost: "...)
	h.b = append(h.b, c.baseURL.Host...)
	h.b = append(h.b, "\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: "...)
	h.b = strconv.AppendInt(h.b, int64(len(e.Data)), 10)
	h.b = append(h.b, "\r\n"...)
	h.set(HeaderMode, e.Mode.String())
	if e.Timeout > 0 {
		h.b = append(h.b, HeaderTimeout+": "...)
		h.b = appendTimeout(h.b, e.Timeout)
		h.b = append(h.b, "\r\n"...)
	}
	if err := appendMeta(&h, e.Codec, &e.Meta); err != nil {
		return h.b, err
	}
	h.b = append(h.b, "\r\n"...)
	if len(e.Data) <= wireBodyCopy {
		h.b = append(h.b, e.Data...)
	}
	return h.b, nil
}

// appendPathEscaped appends url.PathEscape(s) without allocating.
func appendPathEscaped(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreservedPath(c) {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hex[c>>4], hex[c&15])
	}
	return dst
}

// isUnreservedPath is the set url.PathEscape leaves alone in a path segment.
func isUnreservedPath(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '_', '.', '~', '$', '&', '+', ':', '=', '@':
		return true
	}
	return false
}

// write sends the request head in w.buf and then body (nil when it was copied behind
// the head), in one write.
func (w *wireConn) write(ctx context.Context, body []byte, timeout time.Duration) error {
	deadline := len(w.buf)+len(body) > wireBodyCopy
	if deadline {
		w.nc.SetWriteDeadline(time.Now().Add(timeout))
	}
	stop := func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { w.nc.SetWriteDeadline(time.Unix(1, 0)) })
	}
	var err error
	if len(body) > 0 {
		bufs := net.Buffers{w.buf, body}
		_, err = bufs.WriteTo(w.nc)
	} else {
		_, err = w.nc.Write(w.buf)
	}
	if !stop() {
		return ctx.Err() // the deadline may be set: the connection cannot be reused
	}
	if err == nil && deadline {
		w.nc.SetWriteDeadline(time.Time{})
	}
	return err
}

// wireReply is the head of a reply read off a wireConn.
type wireReply struct {
	status int
	header http.Header
	clen   int64 // -1: until the connection closes, or chunked
	body   io.Reader
	keep   bool // the connection can carry another request once body is read
	http11 bool // the reply is HTTP/1.1 (or a later 1.x)
}

var errReplyHead = errors.New("httpchan: malformed reply head")

// maxInformational is how many 1xx replies may come before the final one (as net/http).
const maxInformational = 5

// readReply reads a reply head (skipping 1xx replies) of at most maxHead bytes.
func (w *wireConn) readReply(r *wireReply, lr *io.LimitedReader, maxHead int) error {
	for n := 0; ; n++ {
		if err := w.readHead(r, maxHead); err != nil {
			return err
		}
		if r.status >= 200 || r.status == http.StatusSwitchingProtocols {
			break
		}
		if n == maxInformational {
			return fmt.Errorf("%w: more than %d 1xx replies", errReplyHead, maxInformational)
		}
	}
	if r.status == http.StatusSwitchingProtocols {
		return fmt.Errorf("%w: 101 Switching Protocols", errReplyHead)
	}
	te := r.header["Transfer-Encoding"]
	cl := r.header["Content-Length"]
	switch {
	case r.status == http.StatusNoContent || r.status == http.StatusNotModified:
		r.clen = 0
	case len(te) > 0:
		if !r.http11 {
			// Chunked framing is HTTP/1.1's; an HTTP/1.0 reply with it was likely
			// forwarded by something that did not decode it (RFC 9112 section 6.1).
			return fmt.Errorf("%w: Transfer-Encoding in an HTTP/1.0 reply", errReplyHead)
		}
		if len(te) != 1 || !asciiEqualFold(te[0], "chunked") {
			return fmt.Errorf("%w: Transfer-Encoding %q", errReplyHead, truncate(te[0]))
		}
		r.clen = -1
		r.body = httputil.NewChunkedReader(w.br)
		r.keep = false // trailers are not read: the connection is not reused
		return nil
	case len(cl) > 0:
		for _, v := range cl[1:] {
			if v != cl[0] {
				return fmt.Errorf("%w: conflicting Content-Length values", errReplyHead)
			}
		}
		n, err := strconv.ParseUint(cl[0], 10, 63)
		if err != nil {
			return fmt.Errorf("%w: Content-Length %q", errReplyHead, truncate(cl[0]))
		}
		r.clen = int64(n)
	default:
		r.clen = -1
		r.keep = false
		r.body = w.br
		return nil
	}
	lr.R, lr.N = w.br, r.clen
	r.body = lr
	return nil
}

// readHead reads a status line and header fields. Every key and value is a substring of
// one string holding the whole head.
func (w *wireConn) readHead(r *wireReply, maxHead int) error {
	head := w.buf[:0]
	lines := 0
	for {
		start := len(head)
		line, err := w.br.ReadSlice('\n')
		for err == bufio.ErrBufferFull && len(head)+len(line) <= maxHead {
			head = append(head, line...)
			line, err = w.br.ReadSlice('\n')
		}
		if len(head)+len(line) > maxHead {
			return fmt.Errorf("httpchan: reply head exceeds %d bytes", maxHead)
		}
		if err != nil {
			if err == io.EOF && len(head) == 0 && len(line) == 0 {
				return io.ErrUnexpectedEOF
			}
			if err == io.EOF {
				return fmt.Errorf("%w: cut short after %d bytes", errReplyHead, len(head)+len(line))
			}
			return err
		}
		head = append(head, line...)
		lines++
		if l := head[start:]; len(l) == 1 || len(l) == 2 && l[0] == '\r' {
			break // the blank line that ends the head
		}
	}
	w.buf = head
	s := string(head) // one allocation holds every key and value
	// status line: HTTP/1.x NNN reason
	i := indexCRLF(s)
	line := s[:i]
	code, ok := parseStatusLine(line)
	if !ok {
		return fmt.Errorf("%w: status line %q", errReplyHead, truncate(line))
	}
	r.status = code
	r.http11 = line[7] >= '1'
	r.keep = line[7] == '1'
	s = s[i:]
	if len(s) > 0 && s[0] == '\r' {
		s = s[1:]
	}
	s = s[1:] // '\n'
	if r.header == nil {
		r.header = make(http.Header, lines)
	} else {
		clear(r.header)
	}
	values := make([]string, 0, lines)
	for {
		i := indexCRLF(s)
		line := s[:i]
		if line == "" {
			break
		}
		s = s[i:]
		if len(s) > 0 && s[0] == '\r' {
			s = s[1:]
		}
		s = s[1:]
		colon := -1
		for j := 0; j < len(line); j++ {
			if line[j] == ':' {
				colon = j
				break
			}
			if !isTokenChar(line[j]) {
				return fmt.Errorf("%w: header line %q", errReplyHead, truncate(line))
			}
		}
		if colon <= 0 {
			return fmt.Errorf("%w: header line %q", errReplyHead, truncate(line))
		}
		key, value := line[:colon], trimOWS(line[colon+1:])
		for j := 0; j < len(value); j++ {
			if c := value[j]; c < 0x20 && c != '\t' || c == 0x7f {
				return fmt.Errorf("%w: control byte in header %q", errReplyHead, truncate(key))
			}
		}
		if !isCanonical(key) {
			key = http.CanonicalHeaderKey(key)
		}
		if vs, ok := r.header[key]; ok {
			r.header[key] = append(vs, value)
		} else {
			values = append(values, value)
			r.header[key] = values[len(values)-1 : len(values) : len(values)]
		}
	}
	for _, v := range r.header["Connection"] {
		if hasToken(v, "close") {
			r.keep = false
		}
	}
	return nil
}

// hasToken reports whether the comma-separated list v holds token (ASCII case-insensitive).
func hasToken(v, token string) bool {
	for v != "" {
		var t string
		t, v, _ = strings.Cut(v, ",")
		if asciiEqualFold(trimOWS(t), token) {
			return true
		}
	}
	return false
}

// parseStatusLine reads "HTTP/1.<digit> <3 digits>[ <reason>]" and returns the status, at
// least 100. It is stricter than net/http, which also takes other versions, several spaces
// and codes below 100: none of those is HTTP/1.1 (RFC 9112 section 4).
func parseStatusLine(line string) (int, bool) {
	if len(line) < 12 || line[:7] != "HTTP/1." || !isDigit(line[7]) || line[8] != ' ' || len(line) > 12 && line[12] != ' ' {
		return 0, false
	}
	if !isDigit(line[9]) || !isDigit(line[10]) || !isDigit(line[11]) || line[9] == '0' {
		return 0, false
	}
	return int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0'), true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// indexCRLF returns the index of the line end ('\r\n' or '\n') in s; s always has one.
func indexCRLF(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n':
			return i
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				return i
			}
		}
	}
	return len(s)
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// isCanonical reports whether k is already in net/http's canonical form.
func isCanonical(k string) bool {
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return false
		}
		upper = c == '-'
	}
	return true
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// openWire sends a response, ack or noResponse call over a connection of the pool.
func (c *conn) openWire(ctx context.Context, req *channel.Envelope) (channel.Exchange, error) {
	w, err := c.get(ctx)
	if err != nil {
		return nil, c.openError(req, err)
	}
	if w.buf, err = c.appendRequest(w.buf[:0], req); err != nil {
		c.put(w) // nothing was written
		return nil, err
	}
	var body []byte
	if len(req.Data) > wireBodyCopy {
		body = req.Data
	}
	oneWay := req.Mode == channel.ModeNoResponse
	if oneWay {
		c.oneWay.sent.Add(1)
	}
	if err := w.write(ctx, body, c.cfg.WriteTimeout); err != nil {
		c.drop(w)
		if oneWay {
			c.settleOneWay(0, err)
		}
		return nil, c.openError(req, err)
	}
	if !oneWay {
		return &wireExchange{c: c, w: w, mode: req.Mode}, nil
	}
	c.mu.Lock() // orders wg.Add before Close's wg.Wait
	if c.closed.Load() {
		c.mu.Unlock()
		c.drop(w)
		c.settleOneWay(0, c.errClosed())
		return nil, nil
	}
	c.wg.Add(1)
	c.mu.Unlock()
	go c.awaitOneWay(w)
	return nil, nil
}

func (c *conn) openError(req *channel.Envelope, err error) error {
	if c.closed.Load() {
		return c.errClosed()
	}
	return fmt.Errorf("httpchan: POST %s/%s: %w", c.base, req.Method, err)
}

// awaitOneWay reads the reply to a noResponse request (204, or an error status when the
// server refused it), counts it, and gives the connection back.
func (c *conn) awaitOneWay(w *wireConn) {
	defer c.wg.Done()
	var r wireReply
	var lr io.LimitedReader
	w.nc.SetReadDeadline(time.Now().Add(c.cfg.ReadTimeout))
	err := w.readReply(&r, &lr, c.cfg.MaxHeaderBytes)
	c.settleOneWay(r.status, err)
	if err != nil {
		c.drop(w)
		return
	}
	w.nc.SetReadDeadline(time.Time{})
	c.release(w, &r, &lr)
}

// release gives back a connection whose reply head was read: drained of a short unread
// body to the pool, otherwise closed.
func (c *conn) release(w *wireConn, r *wireReply, lr *io.LimitedReader) {
	if !r.keep || r.clen < 0 || r.body == lr && lr.N > maxDrain {
		c.drop(w)
		return
	}
	if r.body == lr && lr.N > 0 {
		if _, err := io.Copy(io.Discard, lr); err != nil || lr.N > 0 {
			c.drop(w)
			return
		}
	}
	c.put(w)
}

// wireExchange is one response or ack call on a connection of the pool. The connection is
// the call's until its reply is read; closing the exchange before that closes the
// connection, which is how http cancels a call.
type wireExchange struct {
	c    *conn
	w    *wireConn
	mode channel.Mode
	r    wireReply
	lr   io.LimitedReader
	env  channel.Envelope

	finished bool
	closed   bool
	failed   error
}

func (x *wireExchange) Close() error {
	if x.closed {
		return nil
	}
	x.closed = true
	if x.w != nil {
		x.c.drop(x.w)
		x.w = nil
	}
	return nil
}

func (x *wireExchange) Recv(ctx context.Context) (*channel.Envelope, error) {
	if x.closed {
		return nil, fmt.Errorf("httpchan: Recv on a closed exchange: %w", channel.ErrClosed)
	}
	if x.finished {
		return nil, io.EOF
	}
	if x.failed != nil {
		return nil, x.failed
	}
	stop := func() bool { return true }
	if ctx.Done() != nil {
		nc := x.w.nc
		stop = context.AfterFunc(ctx, func() { nc.SetReadDeadline(time.Unix(1, 0)) })
	}
	e, err := x.read()
	if !stop() && ctx.Err() != nil {
		// The deadline may be set: the connection cannot carry another call.
		x.fail(nil)
		x.failed = ctx.Err()
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, x.fail(err)
	}
	x.finished = true
	x.c.release(x.w, &x.r, &x.lr)
	x.w = nil
	return e, nil
}

func (x *wireExchange) read() (*channel.Envelope, error) {
	if err := x.w.readReply(&x.r, &x.lr, x.c.cfg.MaxHeaderBytes); err != nil {
		if err == io.ErrUnexpectedEOF && x.w.reused {
			err = errors.New("the server closed the kept-alive connection without a reply")
		}
		return nil, err
	}
	e := &x.env
	*e = channel.Envelope{Mode: x.mode}
	stream, err := decodeReply(e, x.r.status, x.r.header, x.r.body, x.r.clen, x.c.cfg.MaxMessage)
	if err != nil {
		return nil, err
	}
	if stream {
		return nil, fmt.Errorf("%w: httpchan: a stream body in reply to a %s request", channel.ErrMalformed, x.mode)
	}
	return e, nil
}

func (x *wireExchange) fail(err error) error {
	if x.w != nil {
		x.c.drop(x.w)
		x.w = nil
	}
	if err == nil {
		return nil
	}
	switch {
	case x.c.closed.Load():
		err = x.c.errClosed()
	default:
		var tl *channel.TooLargeError
		if !errors.As(err, &tl) {
			err = fmt.Errorf("httpchan: reply from %s: %w", x.c.base, err)
		}
	}
	x.failed = err
	return err
}
