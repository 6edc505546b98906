package jesus_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Running the comparison: load from concurrent callers, one-way arrivals, and the
// results each run records for the report.

// result is one benchmark's figures, kept for the table printed after the run.
type result struct {
	rate     float64 // operations (calls, stream items, messages sent) per second
	p50, p99 time.Duration
	// cpu is the process's CPU time (user + system, both ends and the peer alike) per
	// unit of rate: unlike the rate, it barely moves when other work shares the machine.
	cpu time.Duration
	// one-way only: messages sent without error, received by the server, and the rate of
	// arrival (received ÷ time from the first send to the last arrival).
	sent, received int64
	sendErrs       int64
	delivered      float64
}

var (
	resultsMu sync.Mutex
	results   = map[string]map[string]result{} // scenario -> system -> result
)

// record keeps r; a later run of the same benchmark (a larger b.N) replaces an earlier one.
func record(scenario, sys string, r result) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	if results[scenario] == nil {
		results[scenario] = map[string]result{}
	}
	results[scenario][sys] = r
}

func lookup(scenario, sys string) (result, bool) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	r, ok := results[scenario][sys]
	return r, ok
}

// runLoad performs b.N operations with conc goroutines and reports the rate (perOp units
// per operation, e.g. the items of a stream), p50 and p99 of the operations' latency.
func runLoad(b *testing.B, scenario, sys, unit string, perOp, conc int, op func(ctx context.Context) error) {
	b.ReportAllocs()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	// warm up connections outside the timer
	for i := 0; i < conc; i++ {
		if err := op(ctx); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var firstErr atomic.Value
	start, cpu0 := timedWorkers(b, conc, func() {
		for {
			i := next.Add(1) - 1
			if i >= int64(b.N) {
				return
			}
			t0 := time.Now()
			if err := op(ctx); err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			lat[i] = time.Since(t0)
		}
	})
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
	slices.Sort(lat)
	r := result{
		rate: float64(b.N*perOp) / elapsed.Seconds(),
		p50:  lat[len(lat)/2],
		p99:  lat[len(lat)*99/100],
		cpu:  cpu / time.Duration(b.N*perOp),
	}
	b.ReportMetric(r.rate, unit+"/s")
	b.ReportMetric(float64(r.cpu.Nanoseconds()), "cpu-ns/"+unit)
	b.ReportMetric(float64(r.p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(r.p99.Microseconds()), "p99-µs")
	record(scenario, sys, r)
}

// timedWorkers resets the timer and runs work in conc goroutines until all of them have
// returned. It returns when they started, and the process's CPU time then.
func timedWorkers(b *testing.B, conc int, work func()) (start time.Time, cpu0 time.Duration) {
	var wg sync.WaitGroup
	b.ResetTimer()
	start, cpu0 = time.Now(), cpuTime()
	for range conc {
		wg.Go(work)
	}
	wg.Wait()
	return start, cpu0
}

// arrivals counts one-way messages where they are handled.
type arrivals struct {
	n    atomic.Int64
	last atomic.Int64 // time of the latest arrival, unix ns
	tick chan struct{}
}

func newArrivals() *arrivals { return &arrivals{tick: make(chan struct{}, 1)} }

func (a *arrivals) add() {
	a.n.Add(1)
	a.last.Store(time.Now().UnixNano())
	select {
	case a.tick <- struct{}{}:
	default:
	}
}

// waitFor waits until want messages have arrived, until none has arrived for idle, or
// until limit has passed, and returns the count.
func (a *arrivals) waitFor(want int64, idle, limit time.Duration) int64 {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	quiet := time.NewTimer(idle)
	defer quiet.Stop()
	for {
		if n := a.n.Load(); n >= want {
			return n
		}
		select {
		case <-a.tick:
			quiet.Reset(idle)
		case <-quiet.C:
			return a.n.Load()
		case <-deadline.C:
			return a.n.Load()
		}
	}
}

// runOneWay sends b.N messages from conc goroutines, then waits (bounded) until the
// receiver has counted all of them. A loss fails nothing: it is recorded and printed.
func runOneWay(b *testing.B, scenario, sys string, conc int, s system, o *ShopOrder) {
	b.ReportAllocs()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	// warm up the connection outside the timer: one message, wait for it
	if err := s.send(ctx, o); err != nil {
		b.Fatal(err)
	}
	if s.flush != nil {
		if err := s.flush(); err != nil {
			b.Fatal(err)
		}
	}
	base := s.arrived.waitFor(1, 5*time.Second, 5*time.Second)
	if base != 1 {
		b.Fatalf("%s: the warm-up message did not arrive", sys)
	}
	var next, errs atomic.Int64
	var firstErr atomic.Value
	start, cpu0 := timedWorkers(b, conc, func() {
		for next.Add(1) <= int64(b.N) {
			if err := s.send(ctx, o); err != nil {
				errs.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
		}
	})
	if s.flush != nil {
		if err := s.flush(); err != nil {
			b.Fatal(err)
		}
	}
	sendElapsed := time.Since(start)
	b.StopTimer()
	sent := int64(b.N) - errs.Load()
	got := s.arrived.waitFor(base+sent, time.Second, 10*time.Second+sendElapsed) - base
	cpu := cpuTime() - cpu0
	r := result{rate: float64(sent) / sendElapsed.Seconds(), sent: sent, received: got, sendErrs: errs.Load()}
	if got > 0 {
		r.cpu = cpu / time.Duration(got)
	}
	if got > 0 {
		r.delivered = float64(got) / time.Unix(0, s.arrived.last.Load()).Sub(start).Seconds()
	}
	b.ReportMetric(r.rate, "sent/s")
	b.ReportMetric(r.delivered, "received/s")
	b.ReportMetric(float64(sent-got), "lost")
	if err, _ := firstErr.Load().(error); err != nil {
		b.Logf("%s: %d sends failed, the first with: %v", sys, errs.Load(), err)
	}
	if got != sent {
		b.Logf("%s: received %d of %d messages sent", sys, got, sent)
	}
	record(scenario, sys, r)
}

// streamOp reads one whole stream and checks its length.
func streamOp(s system) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		n, err := s.stream(ctx)
		if err == nil && n != streamItems {
			err = fmt.Errorf("stream yielded %d items, want %d", n, streamItems)
		}
		return err
	}
}
