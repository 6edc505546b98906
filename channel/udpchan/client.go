package udpchan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/jesus-go/jesus/channel"
)

// ClientStats counts what a Conn did.
type ClientStats struct {
	Sent        uint64 // requests sent (first transmissions)
	Retransmits uint64 // repeated transmissions of ack-mode requests
	Replies     uint64 // acks and errors matched to a waiting exchange
	Stray       uint64 // replies dropped: late duplicates, unknown ids, malformed or oversize datagrams
	Unsent      uint64 // queued noResponse datagrams the socket refused (e.g. ENOBUFS) or Close could not flush in time
}

// Conn is the client side: one connected UDP socket, one reader goroutine that hands
// acks and errors to the exchanges waiting for them by id, and one writer goroutine that
// sends queued noResponse datagrams in batches (sendmmsg where the platform has it), so
// that a sender pays for encoding, not for a system call per message. Ids increase by
// one per request from a random start (see firstID). All methods are safe for
// concurrent use; Close is repeat-safe, flushes the queue (within Config.WriteTimeout)
// and returns only after both goroutines have stopped. An ack-mode exchange costs one
// timer while it waits, no goroutine.
type Conn struct {
	cfg   channel.Config
	limit int
	uc    *net.UDPConn
	bufs  sync.Pool // *[]byte of cap limit+1, for encoding requests

	nextID atomic.Uint64

	mu      sync.Mutex
	pending map[uint64]*exchange
	closed  bool

	readerDone chan struct{}

	// The send queue of noResponse datagrams. Producers hold sendMu for reading while
	// they check sendClosed and enqueue; Close takes it for writing, so that nothing is
	// queued after the writer's final flush.
	closing    atomic.Bool // set first thing in Close
	sendMu     sync.RWMutex
	sendClosed bool
	queue      chan *[]byte  // encoded datagrams, buffers of bufs
	flush      chan struct{} // closed by Close: the writer sends what is queued and ends
	writerDone chan struct{}

	sent, retransmits, replies, stray, unsent atomic.Uint64
	owSent                                    atomic.Uint64 // noResponse requests Open accepted
}

// sendQueue is how many noResponse datagrams a Conn queues before Open waits for room:
// a few batches, enough to keep the writer busy, little enough to bound memory at
// sendQueue*limit.
const sendQueue = 4 * writeBatch

// Dial returns a Conn whose socket is connected to addr (host:port). Nothing is sent
// until Open.
func Dial(ctx context.Context, addr string, cfg channel.Config) (*Conn, error) {
	cfg, err := config(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("udpchan: dial %s: %w", addr, err)
	}
	c := &Conn{
		cfg:        cfg,
		limit:      limit(cfg),
		uc:         nc.(*net.UDPConn),
		pending:    make(map[uint64]*exchange),
		readerDone: make(chan struct{}),
		queue:      make(chan *[]byte, sendQueue),
		flush:      make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	c.nextID.Store(firstID())
	c.bufs.New = func() any {
		b := make([]byte, 0, c.limit+1)
		return &b
	}
	go c.readLoop()
	go c.writeLoop()
	return c, nil
}

// Stats returns the counts of c so far.
func (c *Conn) Stats() ClientStats {
	return ClientStats{Sent: c.sent.Load(), Retransmits: c.retransmits.Load(), Replies: c.replies.Load(), Stray: c.stray.Load(), Unsent: c.unsent.Load()}
}

// OneWayStats counts the noResponse requests Open accepted (Sent) and of those the ones
// the socket refused or Close could not flush (Lost, ClientStats.Unsent). udp learns
// nothing of the receiver's verdict: Delivered and Dropped stay 0.
func (c *Conn) OneWayStats() channel.OneWayStats {
	return channel.OneWayStats{Sent: c.owSent.Load(), Lost: c.unsent.Load()}
}

// LocalAddr is the address of c's socket, the peer address the listener sees.
func (c *Conn) LocalAddr() string { return c.uc.LocalAddr().String() }

// Open sends req, a TypeRequest in ModeNoResponse or ModeAck, and assigns req.ID.
//
// ModeNoResponse returns (nil, nil) once the datagram is queued for the writer; when the
// queue is full Open waits for room until ctx ends. Datagrams are written in the order
// they were queued; a write the socket refuses is counted in ClientStats.Unsent, not
// returned, as udp loss is. ModeAck returns an
// exchange at once and retransmits the datagram (same id), first after
// Config.RetryInterval and then at doubling intervals capped at 1 s, until the ack or
// error for that id arrives, ctx ends (Recv then returns an error wrapping ctx's
// error), the exchange is closed or c is closed. An envelope larger than the datagram
// limit is refused before anything is sent with a *channel.TooLargeError.
func (c *Conn) Open(ctx context.Context, req *channel.Envelope) (channel.Exchange, error) {
	if req == nil || req.Type != channel.TypeRequest {
		return nil, errors.New("udpchan: Open takes a non-nil envelope of type request")
	}
	switch req.Mode {
	case channel.ModeNoResponse, channel.ModeAck:
	case channel.ModeResponse, channel.ModeStream:
		return nil, fmt.Errorf("udpchan: %s mode refused (%s): %w", req.Mode, errModes, channel.ErrUnsupported)
	default:
		return nil, fmt.Errorf("udpchan: request mode %s is not a valid mode", req.Mode)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.closing.Load() { // early and lock-free; enqueue and openAck check for certain
		return nil, fmt.Errorf("udpchan: open: %w", channel.ErrClosed)
	}
	req.ID = c.nextID.Add(1)
	if len(req.Data) >= c.limit { // cannot fit; size it without touching the pool
		return nil, tooLarge(channel.EnvelopeSize(req), c.limit)
	}
	bp := c.bufs.Get().(*[]byte)
	pkt := channel.AppendEnvelope((*bp)[:0], req)
	if len(pkt) > c.limit {
		c.putBuf(bp, pkt)
		return nil, tooLarge(len(pkt), c.limit)
	}
	if req.Mode == channel.ModeNoResponse {
		return nil, c.enqueue(ctx, bp, pkt)
	}
	return c.openAck(ctx, req.ID, bp, pkt)
}

// enqueue hands one encoded datagram to the writer.
func (c *Conn) enqueue(ctx context.Context, bp *[]byte, pkt []byte) error {
	*bp = pkt
	c.sendMu.RLock()
	defer c.sendMu.RUnlock()
	if c.sendClosed {
		c.putBuf(bp, pkt)
		return fmt.Errorf("udpchan: open: %w", channel.ErrClosed)
	}
	select {
	case c.queue <- bp:
		c.owSent.Add(1)
		return nil
	default:
	}
	select {
	case c.queue <- bp:
		c.owSent.Add(1)
		return nil
	case <-ctx.Done():
		c.putBuf(bp, pkt)
		return ctx.Err()
	}
}

// writeLoop sends queued datagrams: whatever is queued when it wakes, up to writeBatch
// per system call. After Close it flushes the queue and ends.
func (c *Conn) writeLoop() {
	defer close(c.writerDone)
	bc := newBatchConn(c.uc)
	bps := make([]*[]byte, 0, writeBatch)
	msgs := make([]ipv4.Message, writeBatch)
	for i := range msgs {
		msgs[i].Buffers = make([][]byte, 1)
	}
	for {
		select {
		case bp := <-c.queue:
			bps = append(bps, bp)
		case <-c.flush:
			for {
				select {
				case bp := <-c.queue:
					bps = append(bps, bp)
					if len(bps) == writeBatch {
						bps = c.writeBatch(bc, msgs, bps)
					}
					continue
				default:
				}
				c.writeBatch(bc, msgs, bps)
				return
			}
		}
	more:
		for len(bps) < writeBatch {
			select {
			case bp := <-c.queue:
				bps = append(bps, bp)
			default:
				break more
			}
		}
		bps = c.writeBatch(bc, msgs, bps)
	}
}

// writeBatch writes the datagrams of bps, returns their buffers to the pool and returns
// bps emptied. A datagram the socket refuses is skipped and counted; one refused with
// ECONNREFUSED (an ICMP port-unreachable for an earlier datagram) counts as sent, as
// udp loss does.
func (c *Conn) writeBatch(bc batchConn, msgs []ipv4.Message, bps []*[]byte) []*[]byte {
	ms := msgs[:len(bps)]
	for i, bp := range bps {
		ms[i].Buffers[0] = *bp
	}
	for len(ms) > 0 {
		n, err := bc.WriteBatch(ms, 0)
		n = max(n, 0) // -1 with an error
		c.sent.Add(uint64(n))
		ms = ms[n:]
		if err != nil && len(ms) > 0 {
			if refused(err) {
				c.sent.Add(1)
			} else {
				c.unsent.Add(1)
				c.cfg.Logger.Debug("udpchan: datagram not sent", "peer", c.uc.RemoteAddr(), "err", err)
				if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
					c.unsent.Add(uint64(len(ms) - 1))
					break
				}
			}
			ms = ms[1:]
		}
	}
	for i, bp := range bps {
		msgs[i].Buffers[0] = nil
		c.putBuf(bp, *bp)
	}
	clear(bps)
	return bps[:0]
}

func (c *Conn) openAck(ctx context.Context, id uint64, bp *[]byte, pkt []byte) (channel.Exchange, error) {
	x := &exchange{c: c, id: id, bp: bp, pkt: pkt, interval: c.cfg.RetryInterval, done: make(chan struct{})}
	// x.mu is held until the first send and the timer are in place, so that a
	// reply racing in cannot finish x (and recycle pkt) underneath.
	x.mu.Lock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		x.mu.Unlock()
		c.putBuf(bp, pkt)
		return nil, fmt.Errorf("udpchan: open: %w", channel.ErrClosed)
	}
	c.pending[id] = x
	c.mu.Unlock()
	if _, err := c.uc.Write(pkt); err != nil && !refused(err) {
		x.mu.Unlock()
		err = closedErr("send", err)
		x.finish(nil, err)
		return nil, err
	}
	c.sent.Add(1)
	x.timer = time.AfterFunc(x.interval, x.retransmit)
	x.stopCtx = context.AfterFunc(ctx, func() {
		x.finish(nil, fmt.Errorf("udpchan: no ack for request %d: %w", id, ctx.Err()))
	})
	x.mu.Unlock()
	return x, nil
}

// firstID picks where a Conn's ids start. The receiver remembers exchanges by sender
// address and id; a new socket may get the port of one closed a moment ago, and if its
// ids started at 1 too, its first requests would be taken for that socket's duplicates:
// acked from the cache and never handled. A random start in [2^28, 2^28+2^31) makes such
// a collision negligible and keeps every id a 5-byte varint for billions of requests.
func firstID() uint64 {
	return 1<<28 + uint64(rand.Uint32N(1<<31)) - 1 // Open adds 1 before use
}

func (c *Conn) putBuf(bp *[]byte, b []byte) {
	if cap(b) > c.limit+1 {
		return // grown past the pool's size class; let it go
	}
	*bp = b[:0]
	c.bufs.Put(bp)
}

func (c *Conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Close closes the socket, waits for the reader goroutine, and fails open exchanges
// with an error wrapping channel.ErrClosed. It is safe to call more than once.
func (c *Conn) Close() error {
	c.closing.Store(true)
	c.sendMu.Lock()
	first := !c.sendClosed
	c.sendClosed = true
	c.sendMu.Unlock()
	if first {
		// Queued datagrams were accepted by Open: send them, within a bound.
		c.uc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
		close(c.flush)
		<-c.writerDone
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	open := make([]*exchange, 0, len(c.pending))
	for _, x := range c.pending {
		open = append(open, x)
	}
	c.mu.Unlock()
	err := c.uc.Close()
	<-c.readerDone
	for _, x := range open {
		x.finish(nil, fmt.Errorf("udpchan: conn closed before the ack of request %d: %w", x.id, channel.ErrClosed))
	}
	if err != nil {
		return fmt.Errorf("udpchan: close: %w", err)
	}
	return nil
}

func (c *Conn) readLoop() {
	defer close(c.readerDone)
	buf := make([]byte, c.limit+1)
	var hdr channel.Envelope
	for {
		n, err := c.uc.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || c.isClosed() {
				return
			}
			if refused(err) {
				c.failRefused(err)
			}
			continue
		}
		c.handleReply(buf[:n], &hdr)
	}
}

// failRefused ends, with an error naming the refusal, the ack exchanges that were sent
// again at least once and still have no answer: the peer's host says nothing listens on
// its port (an ICMP port-unreachable). The first transmission of a newer exchange may
// have met a listener starting up, so it is left to its retransmission. Callers fail over
// at once, as they do when a tcp dial is refused, instead of retransmitting to a dead
// instance until their deadline.
func (c *Conn) failRefused(cause error) {
	c.mu.Lock()
	var gone []*exchange
	for _, x := range c.pending {
		x.mu.Lock()
		if x.resent && !x.finished {
			gone = append(gone, x)
		}
		x.mu.Unlock()
	}
	c.mu.Unlock()
	for _, x := range gone {
		x.finish(nil, fmt.Errorf("udpchan: request %d to %s: nothing listens there (%w)", x.id, c.uc.RemoteAddr(), cause))
	}
}

// handleReply matches one datagram read by the reader to its waiting exchange; hdr is
// scratch space. b is the reader's buffer: what is kept is copied.
func (c *Conn) handleReply(b []byte, hdr *channel.Envelope) {
	if len(b) > c.limit {
		c.stray.Add(1)
		return
	}
	if channel.ParseEnvelope(b, hdr) != nil || (hdr.Type != channel.TypeAck && hdr.Type != channel.TypeError) {
		c.stray.Add(1)
		return
	}
	c.mu.Lock()
	x := c.pending[hdr.ID]
	c.mu.Unlock()
	if x == nil {
		c.stray.Add(1) // usually the answer to a retransmission of a finished exchange
		return
	}
	// The envelope outlives b: parse it again from its own copy.
	env := new(channel.Envelope)
	if channel.ParseEnvelope(append([]byte(nil), b...), env) != nil || !x.finish(env, nil) {
		c.stray.Add(1)
		return
	}
	c.replies.Add(1)
}

// exchange is one ack-mode request waiting for its ack or error.
type exchange struct {
	c    *Conn
	id   uint64
	done chan struct{} // closed by finish; reply and err are set before

	mu       sync.Mutex
	stopCtx  func() bool
	bp       *[]byte
	pkt      []byte // the datagram, resent as is; nil once finished
	timer    *time.Timer
	interval time.Duration
	finished bool
	resent   bool // retransmitted at least once
	reply    *channel.Envelope
	err      error

	delivered bool // Recv returned the terminal reply; owned by the Recv caller
}

func (x *exchange) retransmit() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.finished {
		return
	}
	if _, err := x.c.uc.Write(x.pkt); err == nil || refused(err) {
		x.c.retransmits.Add(1)
	}
	x.resent = true
	x.interval = min(2*x.interval, max(maxBackoff, x.c.cfg.RetryInterval))
	x.timer.Reset(x.interval)
}

// finish ends x with a reply or an error, once; it reports whether this call did it.
func (x *exchange) finish(reply *channel.Envelope, err error) bool {
	x.mu.Lock()
	if x.finished {
		x.mu.Unlock()
		return false
	}
	x.finished = true
	if x.timer != nil {
		x.timer.Stop()
	}
	x.c.putBuf(x.bp, x.pkt)
	x.bp, x.pkt = nil, nil
	x.reply, x.err = reply, err
	close(x.done)
	stop := x.stopCtx
	x.mu.Unlock()
	x.c.mu.Lock()
	if x.c.pending[x.id] == x {
		delete(x.c.pending, x.id)
	}
	x.c.mu.Unlock()
	if stop != nil {
		stop()
	}
	return true
}

// Recv returns the ack or error of the request, then io.EOF.
func (x *exchange) Recv(ctx context.Context) (*channel.Envelope, error) {
	if x.delivered {
		return nil, io.EOF
	}
	select {
	case <-x.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if x.reply != nil {
		x.delivered = true
		return x.reply, nil
	}
	return nil, x.err
}

// Close stops retransmission. If no reply arrived yet it sends one TypeCancel datagram
// for the id (best effort: it may be lost), which cancels the handler's context if
// the receiver still runs it. Safe to call more than once.
func (x *exchange) Close() error {
	if !x.finish(nil, fmt.Errorf("udpchan: exchange of request %d closed: %w", x.id, channel.ErrClosed)) {
		return nil
	}
	var b [16]byte
	pkt := channel.AppendEnvelope(b[:0], &channel.Envelope{Type: channel.TypeCancel, Mode: channel.ModeAck, ID: x.id})
	x.c.uc.Write(pkt) // best effort; a closed socket or lost datagram only leaves the handler running
	return nil
}
