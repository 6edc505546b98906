package framed

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jesus-go/jesus/channel/internal/workerpool"

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

// tlsConnCost is what a TLS connection holds besides: the record reader's buffer (8 KiB,
// see recordConn) and tls.Conn's input and output buffers (up to a record each).
const tlsConnCost = 8<<10 + 2*(16<<10+256)

// costOf is what a connection accepted from nc is charged.
func costOf(nc net.Conn) int64 {
	if _, ok := nc.(*tls.Conn); ok {
		return connCost + tlsConnCost
	}
	return connCost
}

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
		if len(l.conns) >= l.cfg.MaxConns || !l.budget.Acquire(costOf(nc)) {
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
		sc := &srvConn{ls: l, h: h, xs: make(map[uint64]*srvExchange), cost: costOf(nc)}
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
