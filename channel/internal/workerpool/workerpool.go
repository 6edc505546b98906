// Package workerpool runs request handlers on goroutines that are used again for later
// requests. A fresh goroutine per request grows its stack, copying it, on every request
// that goes deep (reflection-based decoding does); a reused one has grown already — the
// reason grpc-go has stream workers. The pool does not bound concurrency: a task that finds
// no idle worker starts one, so the transports' own in-flight limits stay the bound.
package workerpool

import (
	"sync"
	"time"
)

// Pool hands tasks to idle workers. Go, Stop and Wait are safe for concurrent use.
type Pool struct {
	ch   chan func() // unbuffered: a send succeeds only when a worker is idle
	quit chan struct{}
	once sync.Once
	wg   sync.WaitGroup
	idle time.Duration
}

// New returns a pool whose workers end after idle to twice idle without a task.
func New(idle time.Duration) *Pool {
	return &Pool{ch: make(chan func()), quit: make(chan struct{}), idle: idle}
}

// Go runs f on an idle worker, or on a new one.
func (p *Pool) Go(f func()) {
	select {
	case p.ch <- f:
	default:
		p.wg.Add(1)
		go p.loop(f)
	}
}

func (p *Pool) loop(f func()) {
	defer p.wg.Done()
	t := time.NewTimer(p.idle)
	defer t.Stop()
	// The timer is not reset per task (a reset takes the timer heap's lock, on every
	// request): it runs on, and a worker that ran a task since it was armed arms it again.
	// So a worker ends after between idle and twice idle without a task.
	ran := false
	for {
		if f != nil {
			f()
			f = nil
			ran = true
		}
		select {
		case f = <-p.ch:
		case <-p.quit:
			return
		case <-t.C:
			if !ran {
				return
			}
			ran = false
			t.Reset(p.idle)
		}
	}
}

// Stop ends idle workers now and busy ones after their task. Tasks given to Go after Stop
// still run, each on a worker that ends with it. Repeat-safe.
func (p *Pool) Stop() { p.once.Do(func() { close(p.quit) }) }

// Wait waits for every worker to end; call it after Stop.
func (p *Pool) Wait() { p.wg.Wait() }
