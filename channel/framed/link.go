package framed

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// link is one framed connection, client or server side: a reader goroutine that hands
// parsed envelopes to dispatch, and a writer goroutine that drains a bounded queue of
// encoded frames through a bufio.Writer, flushing when the queue runs empty. A sender
// that finds the connection idle writes its frame itself (enqueueDirect) rather than
// waking the writer. The owner of the link starts both goroutines and waits for them.
type link struct {
	nc    net.Conn
	cfg   *channel.Config
	where string // "tcp frame" or "unix frame", for TooLargeError

	mu      sync.Mutex
	queue   []*[]byte
	qBytes  int
	closing bool  // drain the queue, then close
	linger  bool  // closing: half-close after the queue, and let the reader end the link
	err     error // set once the link is dead
	wake    chan struct{}
	dead    chan struct{}
	onClose func(error) // called once, without locks held, when the link dies

	wmu        sync.Mutex // held by whoever writes to bw: the writer goroutine or a sender writing through
	bw         *bufio.Writer
	batch      []*[]byte // frames being written; guarded by wmu
	halfClosed bool      // drainLinger finished: nothing more is written; guarded by wmu

	activity atomic.Bool // a frame arrived since the keep-alive timer last looked

	// budget is the listener's memory budget (nil on the client side): frames being read
	// and queued frames are charged to it, and released when their buffers are.
	budget *channel.Budget

	lingerUntil atomic.Int64 // unix nanoseconds of the read deadline halfClose set, or 0
}

// endFrameDeadline lifts the FrameTimeout deadline once a frame is read, unless a
// half-close set its own meanwhile (halfClose stores it before setting it, and this
// looks after clearing, so one of the two sets it last).
func (l *link) endFrameDeadline() {
	l.nc.SetReadDeadline(time.Time{})
	if t := l.lingerUntil.Load(); t != 0 {
		l.nc.SetReadDeadline(time.Unix(0, t))
	}
}

func newLink(nc net.Conn, cfg *channel.Config, where string) *link {
	return &link{nc: nc, cfg: cfg, where: where, wake: make(chan struct{}, 1), dead: make(chan struct{}),
		bw: bufio.NewWriterSize(nc, 32<<10)}
}

// errDrained is the cause recorded when a link was closed on purpose after draining.
var errDrained = fmt.Errorf("framed: connection closed: %w", channel.ErrClosed)

// close kills the link at once: queued frames are dropped and the socket is closed.
func (l *link) close(cause error) {
	l.mu.Lock()
	if l.err != nil {
		l.mu.Unlock()
		return
	}
	if cause == nil {
		cause = errDrained
	}
	l.err = cause
	q := l.queue
	l.queue, l.qBytes = nil, 0
	close(l.dead)
	l.mu.Unlock()
	for _, b := range q {
		l.budget.Release(int64(held(b)))
		putBuf(b)
	}
	l.nc.Close()
	if !errors.Is(cause, channel.ErrClosed) && !errors.Is(cause, io.EOF) && !errors.Is(cause, net.ErrClosed) {
		// Not an orderly close: a slow or silent peer, a write failure, a reset.
		l.cfg.Logger.Info("framed: connection dropped", "peer", l.nc.RemoteAddr().String(), "err", cause)
	}
	if l.onClose != nil {
		l.onClose(cause)
	}
}

// drain makes the writer send what is queued, then close the link.
func (l *link) drain() {
	l.mu.Lock()
	l.closing = true
	l.mu.Unlock()
	l.signal()
}

// lingerTimeout bounds how long a link that drained with drainLinger keeps reading
// (and discarding) after its half-close, waiting for the peer to close its side.
const lingerTimeout = time.Second

// drainLinger is drain for a graceful shutdown while the reader still runs: the writer
// flushes the queue and half-closes (FIN), the reader goes on reading until the peer
// closes too (or lingerTimeout), then closes the socket. Closing at once would make a
// peer that is still sending get a reset, and a reset can discard the last frames we
// sent before it reads them: replies, and the credit that says which one-way requests
// ran.
func (l *link) drainLinger() {
	l.mu.Lock()
	l.closing, l.linger = true, true
	l.mu.Unlock()
	l.signal()
}

func (l *link) lingering() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closing && l.linger
}

// halfClose ends our direction of the connection after the last frame; false when the
// connection cannot be half-closed. The caller holds wmu.
func (l *link) halfClose() bool {
	if l.halfClosed {
		return true
	}
	cw, ok := l.nc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return false
	}
	dl := time.Now().Add(lingerTimeout)
	l.lingerUntil.Store(dl.UnixNano()) // before the deadline: see endFrameDeadline
	l.nc.SetReadDeadline(dl)
	l.halfClosed = true
	return true
}

func (l *link) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// failure is the error callers see once the link is dead.
func (l *link) failure() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.deadErr()
}

func (l *link) deadErr() error {
	if l.err == nil {
		return nil
	}
	if errors.Is(l.err, channel.ErrClosed) {
		return l.err
	}
	return fmt.Errorf("framed: connection to %s lost: %w (%v)", l.nc.RemoteAddr(), channel.ErrClosed, l.err)
}

// push appends an encoded frame to the queue; it never blocks. The link owns b from
// here on, also on error. A peer that lets MaxPendingBytes pile up (counted as held)
// is disconnected.
// wasEmpty tells the caller that no one is draining the queue yet: it must signal
// the writer or drain it itself.
func (l *link) push(b *[]byte) (wasEmpty bool, err error) {
	n := held(b)
	l.mu.Lock()
	if l.err != nil || l.closing {
		err := l.deadErr()
		if err == nil {
			err = errDrained
		}
		l.mu.Unlock()
		putBuf(b)
		return false, err
	}
	if queued := l.qBytes + n; queued > l.cfg.MaxPendingBytes {
		l.mu.Unlock() // queued was read under the lock: the writer changes qBytes
		putBuf(b)
		err := fmt.Errorf("framed: peer %s is not reading: %d bytes held by queued frames would exceed MaxPendingBytes %d", l.nc.RemoteAddr(), queued, l.cfg.MaxPendingBytes)
		l.close(err)
		return false, fmt.Errorf("%w: %v", channel.ErrClosed, err)
	}
	if !l.budget.Acquire(int64(n)) {
		l.mu.Unlock()
		putBuf(b)
		err := fmt.Errorf("framed: peer %s: a %d-byte reply would exceed the listener's memory budget of %d bytes (%d in use; MemoryBudget)", l.nc.RemoteAddr(), n, l.budget.Limit(), l.budget.Used())
		l.close(err)
		return false, fmt.Errorf("%w: %v", channel.ErrClosed, err)
	}
	l.queue = append(l.queue, b)
	l.qBytes += n
	wasEmpty = len(l.queue) == 1
	l.mu.Unlock()
	return wasEmpty, nil
}

// held is what a queued frame costs against MaxPendingBytes: the capacity of its buffer,
// which stays allocated until the frame is written, not the length of the frame (a
// 230-byte reply sits in a 512-byte pooled buffer).
func held(b *[]byte) int { return cap(*b) }

// enqueue queues a frame for the writer goroutine. The reader uses it: it must never
// block on the socket, or two peers whose readers both wait on writes would stall.
func (l *link) enqueue(b *[]byte) error {
	wasEmpty, err := l.push(b)
	if wasEmpty {
		l.signal()
	}
	return err
}

// enqueueDirect queues a frame and, when nobody is writing, writes it from the calling
// goroutine, which saves the hand-off to the writer goroutine on an idle connection
// (bounded by WriteTimeout). Under load it falls back to the writer, which batches.
func (l *link) enqueueDirect(b *[]byte) error {
	wasEmpty, err := l.push(b)
	if err != nil || !wasEmpty {
		return err
	}
	if l.wmu.TryLock() {
		dead := l.drainLocked()
		l.wmu.Unlock()
		if dead {
			return l.failure()
		}
		return nil
	}
	l.signal()
	return nil
}

// send encodes e and enqueues it for the writer goroutine.
func (l *link) send(e *channel.Envelope) error {
	b, err := appendFrame(e, l.cfg.MaxMessage, l.where)
	if err != nil {
		return err
	}
	return l.enqueue(b)
}

// writeLoop drains the queue whenever it is signalled and sends keep-alive pings.
func (l *link) writeLoop() {
	var tick <-chan time.Time
	if l.cfg.KeepAlive > 0 {
		t := time.NewTicker(l.cfg.KeepAlive)
		defer t.Stop()
		tick = t.C
	}
	pinged := false
	for {
		select {
		case <-l.dead:
			return
		case <-tick:
			if l.activity.Swap(false) {
				pinged = false
				continue
			}
			if pinged {
				l.close(fmt.Errorf("framed: peer %s sent nothing for %v after a ping (KeepAlive)", l.nc.RemoteAddr(), 2*l.cfg.KeepAlive))
				return
			}
			pinged = true
			l.send(&channel.Envelope{Type: channel.TypePing})
			continue
		case <-l.wake:
		}
		l.wmu.Lock()
		dead := l.drainLocked()
		l.wmu.Unlock()
		if dead {
			return
		}
	}
}

// drainLocked writes queued frames through bw until the queue is empty, then flushes.
// The caller holds wmu. It reports whether the link is dead.
func (l *link) drainLocked() bool {
	bw := l.bw
	deadlineSet, yielded := false, false
	taken := 0
	for {
		l.mu.Lock()
		if l.err != nil {
			l.mu.Unlock()
			return true
		}
		// Bytes leave MaxPendingBytes only once written, so a peer that stops
		// reading cannot make us hold a queue plus a stuck batch.
		l.qBytes -= taken
		l.batch, l.queue = l.queue, l.batch[:0]
		batch := l.batch
		taken = 0
		for _, b := range batch {
			taken += held(b)
		}
		closing, linger := l.closing, l.linger
		l.mu.Unlock()
		if len(batch) == 0 && !yielded && bw.Buffered() > 0 && !closing {
			// Let callers that are about to enqueue do so, so that one write
			// carries their frames too.
			yielded = true
			runtime.Gosched()
			continue
		}
		if len(batch) == 0 {
			if !deadlineSet && bw.Buffered() > 0 {
				l.nc.SetWriteDeadline(time.Now().Add(l.cfg.WriteTimeout))
			}
			if err := bw.Flush(); err != nil {
				l.close(fmt.Errorf("framed: write to %s: %w", l.nc.RemoteAddr(), err))
				return true
			}
			if closing {
				if !linger || !l.halfClose() {
					l.close(nil)
				}
				return true // the writer is done; when lingering the reader closes
			}
			return false
		}
		if !deadlineSet {
			l.nc.SetWriteDeadline(time.Now().Add(l.cfg.WriteTimeout))
			deadlineSet = true
		}
		for i, b := range batch {
			_, err := bw.Write(*b)
			l.budget.Release(int64(held(b)))
			putBuf(b)
			batch[i] = nil
			if err != nil {
				for _, r := range batch[i+1:] {
					l.budget.Release(int64(held(r)))
					putBuf(r)
				}
				clear(batch)
				l.close(fmt.Errorf("framed: write to %s: %w", l.nc.RemoteAddr(), err))
				return true
			}
		}
	}
}

// errHandedOff is returned by a dispatch function whose goroutine is no longer the
// reader: another goroutine took over br and reads on.
var errHandedOff = errors.New("framed: reading was handed to another goroutine")

// readLoop reads frames until the link dies and hands each parsed envelope to dispatch,
// which owns the inbound from then on. A framing violation is answered with a TypeError
// (CodeInvalidArgument) and the link is drained and closed. It reports true when it
// returned because dispatch handed reading to another goroutine (errHandedOff).
func (l *link) readLoop(br *bufio.Reader, dispatch func(*inbound) error) (handedOff bool) {
	for {
		b, charged, err := readFrame(br, l.cfg.MaxMessage, l)
		if err != nil {
			l.fail(err)
			return false
		}
		l.activity.Store(true)
		in := getInbound()
		in.buf, in.budget, in.charged = b, l.budget, charged
		if err := channel.ParseEnvelope(*b, &in.env); err != nil {
			id := in.env.ID
			in.release()
			l.fail(&protoError{id: id, msg: err.Error()})
			return false
		}
		switch in.env.Type {
		case channel.TypePing:
			id := in.env.ID
			in.release()
			l.send(&channel.Envelope{Type: channel.TypePong, ID: id})
			continue
		case channel.TypePong:
			in.release()
			continue
		}
		if err := dispatch(in); err != nil {
			if err == errHandedOff {
				return true
			}
			l.fail(err)
			return false
		}
	}
}

// fail ends the link after a read error: protocol errors are reported to the peer first.
func (l *link) fail(err error) {
	if l.lingering() {
		l.close(nil) // drained: whatever the peer sent after is not served
		return
	}
	var pe *protoError
	if errors.As(err, &pe) {
		code := pe.code
		if code == "" {
			code = channel.CodeInvalidArgument
		}
		l.cfg.Logger.Warn("framed: closing a connection after a framing violation", "peer", l.nc.RemoteAddr().String(), "err", pe.msg)
		l.send(&channel.Envelope{Type: channel.TypeError, ID: pe.id, ErrCode: code, ErrMessage: pe.Error()})
		l.drain() // the writer flushes the error, then closes
		return
	}
	l.close(err)
}

// inbound is a received envelope and the pooled buffer its Data aliases, with what that
// buffer was charged to the listener's budget.
type inbound struct {
	env     channel.Envelope
	buf     *[]byte
	budget  *channel.Budget
	charged int64
}

var inboundPool = sync.Pool{New: func() any { return new(inbound) }}

func getInbound() *inbound { return inboundPool.Get().(*inbound) }

func (in *inbound) release() {
	if in == nil {
		return
	}
	putBuf(in.buf)
	in.budget.Release(in.charged)
	in.buf, in.budget, in.charged = nil, nil, 0
	in.env = channel.Envelope{}
	inboundPool.Put(in)
}
