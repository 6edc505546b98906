//go:build unix

package metrics_test

import (
	"context"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/metrics"
	"github.com/jesus-go/jesus/jesus/tracing"
	"github.com/prometheus/client_golang/prometheus"
)

type small struct {
	ID   int    `msgpack:"id"`
	Name string `msgpack:"name"`
}

// echoStack serves bench.echo over tcp+msgpack and returns a client of it, with metrics
// and tracing at both ends when on. Tracing uses the global provider: a no-op while the
// application installs none, which is what "on, nothing exported" costs.
func echoStack(b *testing.B, on bool) *jesus.Client {
	b.Helper()
	var opts []jesus.Option
	if on {
		m, err := metrics.New(prometheus.NewRegistry())
		if err != nil {
			b.Fatal(err)
		}
		opts = append(opts, m.Option(), tracing.On())
	}
	s := jesus.NewServer("bench", opts...)
	jesus.Handle(s, "echo", func(_ context.Context, r small) (small, error) { return r, nil })
	bound, err := s.Listen(context.Background(), "tcp+msgpack://127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	c := jesus.NewClient("caller", append([]jesus.Option{jesus.WithTarget(bound.String())}, opts...)...)
	b.Cleanup(func() {
		c.Close()
		s.Close()
	})
	if _, err := jesus.Call[small, small](context.Background(), c, "bench.echo", small{1, "x"}); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkObservability compares calls/s with metrics and tracing on at both ends
// against the same setup without them: tcp+msgpack, a small payload, 64 callers.
// "paired" alternates rounds of 64 callers x 50 calls between the two stacks, so that
// other load on the machine falls on both alike, and reports on/off as ratios: of
// calls/s (1 = free) and of the process's CPU time per call (1 = free).
func BenchmarkObservability(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			c := echoStack(b, on)
			ctx := context.Background()
			b.ReportAllocs()
			b.SetParallelism((64 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				req := small{ID: 7, Name: "small"}
				for pb.Next() {
					if _, err := jesus.Call[small, small](ctx, c, "bench.echo", req); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
	b.Run("paired", func(b *testing.B) {
		off, on := echoStack(b, false), echoStack(b, true)
		const callers, per = 64, 50
		round := func(c *jesus.Client) time.Duration {
			var wg sync.WaitGroup
			start := time.Now()
			for range callers {
				wg.Go(func() {
					for range per {
						if _, err := jesus.Call[small, small](context.Background(), c, "bench.echo", small{7, "small"}); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			return time.Since(start)
		}
		var tOff, tOn, cOff, cOn time.Duration
		timed := func(c *jesus.Client, wall, cpu *time.Duration) {
			c0 := cpuTime()
			*wall += round(c)
			*cpu += cpuTime() - c0
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if i%2 == 0 { // alternate which goes first
				timed(off, &tOff, &cOff)
				timed(on, &tOn, &cOn)
			} else {
				timed(on, &tOn, &cOn)
				timed(off, &tOff, &cOff)
			}
		}
		calls := float64(b.N * callers * per)
		b.ReportMetric(calls/tOff.Seconds(), "off-calls/s")
		b.ReportMetric(calls/tOn.Seconds(), "on-calls/s")
		b.ReportMetric(tOff.Seconds()/tOn.Seconds(), "on/off-calls/s")
		b.ReportMetric(cOn.Seconds()/cOff.Seconds(), "on/off-cpu/call")
	})
}

// cpuTime is the CPU time the process used so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
