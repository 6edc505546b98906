// Package workerpool runs request handlers on goroutines that are used again for later
// requests. A fresh goroutine per request grows its stack, copying it, on every request
// that goes deep (reflection-based decoding does); a reused one has grown already — the
// reason grpc-go has stream workers.
//
// Up to GOMAXPROCS workers run at once in the normal course: a task goes to an idle
// worker, or waits in a queue that the running workers take from as they finish, so that
// under load a worker goes from task to task without parking and being woken for each
// (on a small machine a wake-up costs more than a small request). Handlers may block, so
// the pool does not bound concurrency: a watchdog looks at the queue every millisecond,
// and when no task was taken from it since the last look, it starts one more worker. A
// queue stuck behind blocked handlers therefore drains one worker per millisecond, and
// the transports' own in-flight limits stay the bound.
package workerpool

import (
	"runtime"
	"sync"
	"time"
)

// tick is how often the watchdog looks at a queue that is not empty.
const tick = time.Millisecond

// Pool hands tasks to workers. Go, Stop and Wait are safe for concurrent use.
type Pool struct {
	idleFor time.Duration
	target  int // workers that run at once in the normal course

	mu       sync.Mutex
	q        []func() // tasks waiting for a worker, oldest at qh
	qh       int
	idle     []*worker // parked workers, the latest last
	workers  int       // started and not ended
	taken    uint64    // tasks taken from the queue
	seen     uint64    // taken at the watchdog's last look
	watching bool      // the watchdog's timer is armed
	watch    *time.Timer
	stopped  bool

	quit chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// worker is one goroutine of the pool; a task is handed to a parked one on ch.
type worker struct{ ch chan func() }

// New returns a pool whose workers end after idle to twice idle without a task.
func New(idle time.Duration) *Pool {
	p := &Pool{idleFor: idle, target: max(2, runtime.GOMAXPROCS(0)), quit: make(chan struct{})}
	p.watch = time.AfterFunc(time.Hour, p.check)
	p.watch.Stop()
	return p
}

// Go runs f on a worker: an idle one, a new one, or, with GOMAXPROCS workers busy, the
// first of them to finish. After Stop, f runs on a goroutine of its own.
func (p *Pool) Go(f func()) {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			f()
		}()
		return
	}
	if p.workers-len(p.idle) < p.target {
		p.startLocked(f)
		p.mu.Unlock()
		return
	}
	p.q = append(p.q, f)
	if !p.watching {
		p.watching = true
		p.seen = p.taken
		p.watch.Reset(tick)
	}
	p.mu.Unlock()
}

// startLocked runs f on an idle worker or a new one.
func (p *Pool) startLocked(f func()) {
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		w.ch <- f // buffered and empty: a parked worker's channel
		return
	}
	p.workers++
	p.wg.Add(1)
	go p.run(&worker{ch: make(chan func(), 1)}, f)
}

// check is the watchdog: a queue that did not move for a tick gets one more worker.
func (p *Pool) check() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.qh == len(p.q) || p.stopped {
		p.watching = false
		return
	}
	if p.taken == p.seen {
		p.startLocked(p.popLocked())
	}
	p.seen = p.taken
	p.watch.Reset(tick)
}

// popLocked takes the oldest queued task; the queue is not empty.
func (p *Pool) popLocked() func() {
	f := p.q[p.qh]
	p.q[p.qh] = nil
	p.qh++
	p.taken++
	if p.qh == len(p.q) {
		p.q, p.qh = p.q[:0], 0
	}
	return f
}

func (p *Pool) run(w *worker, f func()) {
	defer p.wg.Done()
	// The idle timer is not reset per task (a reset takes the timer heap's lock, on every
	// request): it runs on, and a worker that ran a task since it was armed arms it again.
	t := time.NewTimer(p.idleFor)
	defer t.Stop()
	ran := false
	for {
		if f != nil {
			f()
			f = nil
			ran = true
		}
		p.mu.Lock()
		if p.qh < len(p.q) {
			f = p.popLocked()
			p.mu.Unlock()
			continue
		}
		if p.stopped {
			p.workers--
			p.mu.Unlock()
			return
		}
		p.idle = append(p.idle, w)
		p.mu.Unlock()
		select {
		case f = <-w.ch:
		case <-p.quit:
			if !p.leave(w) {
				f = <-w.ch // handed a task just before Stop: run it, then end
			} else {
				return
			}
		case <-t.C:
			if ran {
				ran = false
				t.Reset(p.idleFor)
				if !p.unpark(w) {
					f = <-w.ch
				}
				continue
			}
			if !p.leave(w) {
				f = <-w.ch
				continue
			}
			return
		}
	}
}

// unpark takes w off the idle list; false means a task was handed to it meanwhile.
func (p *Pool) unpark(w *worker) bool { return p.takeIdle(w, false) }

// leave ends parked worker w, unless a task was handed to it meanwhile (false).
func (p *Pool) leave(w *worker) bool { return p.takeIdle(w, true) }

func (p *Pool) takeIdle(w *worker, end bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.idle {
		if x == w {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			if end {
				p.workers--
			}
			return true
		}
	}
	return false
}

// Stop ends idle workers now and busy ones once the queue is empty. Tasks given to Go
// after Stop still run, each on a goroutine of its own. Repeat-safe.
func (p *Pool) Stop() {
	p.once.Do(func() {
		p.mu.Lock()
		p.stopped = true
		p.watch.Stop()
		p.mu.Unlock()
		close(p.quit)
	})
}

// Wait waits for every worker to end; call it after Stop.
func (p *Pool) Wait() { p.wg.Wait() }
