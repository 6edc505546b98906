package workerpool_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/internal/workerpool"
)

func TestReusesWorkersAndStops(t *testing.T) {
	channeltest.CheckLeaks(t) // every worker ends once the pool stopped and waited
	before := runtime.NumGoroutine()
	p := workerpool.New(time.Minute)
	var ran atomic.Int64
	for i := 0; i < 100; i++ {
		done := make(chan struct{})
		p.Go(func() { ran.Add(1); close(done) })
		<-done
	}
	// Sequential tasks reuse the one worker (a task may rarely find it not yet idle).
	if n := runtime.NumGoroutine() - before; n > 2 {
		t.Fatalf("%d workers for sequential tasks", n)
	}
	var wg sync.WaitGroup
	release := make(chan struct{})
	for i := 0; i < 10; i++ {
		wg.Add(1)
		p.Go(func() { defer wg.Done(); <-release; ran.Add(1) })
	}
	close(release)
	wg.Wait()
	p.Stop()
	p.Go(func() { ran.Add(1) }) // after Stop: still runs
	p.Wait()
	if ran.Load() != 111 {
		t.Fatalf("ran %d of 111 tasks", ran.Load())
	}
}

func TestIdleWorkersEnd(t *testing.T) {
	p := workerpool.New(time.Millisecond)
	done := make(chan struct{})
	p.Go(func() { close(done) })
	<-done
	p.Wait() // returns because the worker ends after 1 ms idle, without Stop
}

// BenchmarkGo is the cost of handing tasks to the pool from one goroutine, with up to
// 64 of them running or queued at a time.
func BenchmarkGo(b *testing.B) {
	p := workerpool.New(time.Minute)
	defer func() { p.Stop(); p.Wait() }()
	sem := make(chan struct{}, 64)
	task := func() { <-sem }
	b.ReportAllocs()
	for b.Loop() {
		sem <- struct{}{}
		p.Go(task)
	}
}

// Handlers that block until all of them run: with GOMAXPROCS workers and the rest queued
// this would deadlock; the watchdog starts workers for a queue that does not move.
func TestBlockedHandlersDoNotStarveTheQueue(t *testing.T) {
	p := workerpool.New(time.Minute)
	const n = 50
	var started sync.WaitGroup
	started.Add(n)
	done := make(chan struct{})
	var finished sync.WaitGroup
	finished.Add(n)
	for range n {
		p.Go(func() {
			defer finished.Done()
			started.Done()
			<-done
		})
	}
	go func() { started.Wait(); close(done) }()
	finished.Wait()
	p.Stop()
	p.Wait()
}

// Under a steady stream of short tasks the pool runs them on about GOMAXPROCS workers.
func TestShortTasksFewWorkers(t *testing.T) {
	before := runtime.NumGoroutine()
	p := workerpool.New(time.Minute)
	var wg sync.WaitGroup
	var peak atomic.Int64
	for range 10000 {
		wg.Add(1)
		p.Go(func() { wg.Done() })
		if g := int64(runtime.NumGoroutine() - before); g > peak.Load() {
			peak.Store(g)
		}
	}
	wg.Wait()
	p.Stop()
	p.Wait()
	// GOMAXPROCS workers, plus a few the watchdog may add when the test's goroutine
	// is descheduled with tasks queued.
	if max := int64(runtime.GOMAXPROCS(0) + 16); peak.Load() > max {
		t.Fatalf("%d goroutines at the peak for short tasks, want at most %d", peak.Load(), max)
	}
}
