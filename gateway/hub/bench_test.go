package hub_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/gateway/hub"
	"github.com/jesus-go/jesus/jesus"
)

type helloReq struct {
	Name string `json:"name" msgpack:"name"`
}

type helloRes struct {
	Greeting string `json:"greeting" msgpack:"greeting"`
	N        int    `json:"n" msgpack:"n"`
}

// BenchmarkRoundTrip compares, in one run, a call through a hub (client -> the hub's
// registered tcp+msgpack endpoint -> job -> a Go worker polling over HTTP -> answer) with
// the same call made directly to a jesus server on tcp+msgpack, at 1 and 64 callers.
// It reports the median latency (p50-µs) and calls/s.
func BenchmarkRoundTrip(b *testing.B) {
	reg, cache, _ := registryWith(b)
	h, addr := startHub(b, hub.Config{Registry: reg, Cache: cache})
	handler := func(ctx context.Context, req helloReq) (helloRes, error) {
		return helloRes{Greeting: "hello, " + req.Name, N: 7}, nil
	}

	hw := &hub.Worker{Service: "greeter", Pollers: 64, Wait: 5 * time.Second}
	worker := jesus.NewServer("greeter")
	jesus.Handle(worker, "hello", handler)
	jesus.HandleOneWay(worker, "note", func(ctx context.Context, req map[string]any) error { return nil })
	if _, err := worker.ListenVia(testCtx(b), hw, "json", addr); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { worker.Close() })

	direct := jesus.NewServer("greeter")
	jesus.Handle(direct, "hello", handler)
	bound, err := direct.Listen(testCtx(b), "tcp+msgpack://127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { direct.Close() })

	disc := discovery(b, cache)
	viaHub := jesus.NewClient("bench", jesus.WithResolver(disc))
	b.Cleanup(func() { viaHub.Close() })
	toDirect := jesus.NewClient("bench", jesus.WithTarget(bound.String()))
	b.Cleanup(func() { toDirect.Close() })
	eventually(b, "greeter fronted by the hub", func() bool {
		_, err := jesus.Call[helloReq, helloRes](testCtx(b), viaHub, "greeter.hello", helloReq{Name: "x"})
		return err == nil && h.Stats().Fronted == 1
	})

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.Cleanup(hc.CloseIdleConnections)
	overHTTP := func(ctx context.Context) error {
		resp, err := hc.Post("http://"+addr+"/service/greeter.hello", "application/json", bytes.NewReader([]byte(`{"name":"ada"}`)))
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return jesus.Errorf(jesus.CodeInternal, "HTTP %d", resp.StatusCode)
		}
		return nil
	}
	call := func(c *jesus.Client) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := jesus.Call[helloReq, helloRes](ctx, c, "greeter.hello", helloReq{Name: "ada"})
			return err
		}
	}
	for _, path := range []struct {
		name string
		do   func(context.Context) error
	}{{"direct", call(toDirect)}, {"hub", call(viaHub)}, {"hub-http", overHTTP}} {
		for _, callers := range []int{1, 64} {
			b.Run(path.name+"/callers="+itoa(callers), func(b *testing.B) {
				benchCalls(b, path.do, callers)
			})
		}
	}
}

func itoa(n int) string {
	if n == 1 {
		return "1"
	}
	return "64"
}

func benchCalls(b *testing.B, do func(context.Context) error, callers int) {
	b.ReportAllocs()
	ctx := context.Background()
	lat := make([][]time.Duration, callers)
	var wg sync.WaitGroup
	per := (b.N + callers - 1) / callers
	b.ResetTimer()
	start := time.Now()
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := make([]time.Duration, 0, per)
			for range per {
				t0 := time.Now()
				if err := do(ctx); err != nil {
					b.Error(err)
					return
				}
				own = append(own, time.Since(t0))
			}
			lat[i] = own
		}()
	}
	wg.Wait()
	took := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(len(all))/took.Seconds(), "calls/s")
}
