package sidecar_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/jesus"
)

// BenchmarkHop compares one call through the sidecar (HTTP/JSON to the sidecar, then the
// receiver's http+json channel) with the same call made directly by a jesus client over
// that channel, at 1 and 64 concurrent callers, in the same run. It reports the median
// latency and calls per second.
func BenchmarkHop(b *testing.B) {
	e := startEnv(b, nil)
	startClock(b, e)
	cl := receiverClient(b, e, true)
	body := []byte(`{"zone":"Europe/Rome"}`)
	tcp := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
	unix := unixClient(b, e.sock)
	unix.Transport.(*http.Transport).MaxIdleConnsPerHost = 128
	ctx := context.Background()
	peers := []struct {
		name string
		call func() error
	}{
		{"direct", func() error {
			_, err := jesus.Call[map[string]any, map[string]any](ctx, cl, "clock.echo", map[string]any{"zone": "Europe/Rome"})
			return err
		}},
		{"sidecar-tcp", func() error { return post(tcp, e.base, body) }},
		{"sidecar-unix", func() error { return post(unix, "http://sidecar", body) }},
	}
	for _, callers := range []int{1, 64} {
		for _, p := range peers {
			b.Run(fmt.Sprintf("%s/callers=%d", p.name, callers), func(b *testing.B) {
				if err := p.call(); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				lat := runCallers(b, callers, p.call)
				sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			})
		}
	}
}

// runCallers makes b.N calls from callers goroutines and returns every call's latency;
// it reports calls/s.
func runCallers(b *testing.B, callers int, call func() error) []time.Duration {
	lat := make([]time.Duration, b.N)
	var next sync.Mutex
	i := 0
	take := func() int {
		next.Lock()
		defer next.Unlock()
		if i >= b.N {
			return -1
		}
		i++
		return i - 1
	}
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	b.ResetTimer()
	start := time.Now()
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := take(); n >= 0; n = take() {
				t0 := time.Now()
				if err := call(); err != nil {
					errs <- err
					return
				}
				lat[n] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
	return lat
}

func post(c *http.Client, base string, body []byte) error {
	resp, err := c.Post(base+"/v1/call/clock.echo", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
