package framed_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/framed"
)

var benchEcho = channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
	w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Data: req.Data})
})

// benchConn serves h on tr (at listenAddr) and dials it with cfg; both close when the
// benchmark ends.
func benchConn(b *testing.B, tr channel.Transport, h channel.Handler, cfg channel.Config) channel.Conn {
	b.Helper()
	ctx := context.Background()
	ln := serveOn(b, ctx, tr, listenAddr(b, tr), channel.Config{}, h)
	return dialOn(b, ctx, tr, ln.Addr(), cfg)
}

// BenchmarkRoundTrip measures request/response calls: one caller, and 64 concurrent
// callers sharing one Conn (the default pool of 2 connections).
func BenchmarkRoundTrip(b *testing.B) {
	for _, tr := range []channel.Transport{framed.TCP(), framed.Unix()} {
		for _, callers := range []int{1, 64} {
			for _, size := range []int{256, 4 << 10} {
				b.Run(fmt.Sprintf("%s/callers=%d/size=%d", tr.Name(), callers, size), func(b *testing.B) {
					benchRoundTrip(b, tr, callers, size)
				})
			}
		}
	}
}

func benchRoundTrip(b *testing.B, tr channel.Transport, callers, size int) {
	c := benchConn(b, tr, benchEcho, channel.Config{})
	call := channeltest.SizedCall(context.Background(), c, channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "bench.echo", Data: make([]byte, size)})
	if err := call(); err != nil { // dial outside the measurement
		b.Fatal(err)
	}
	runCalls(b, callers, size, call)
}

// runCalls performs b.N calls with the given number of concurrent callers; both round-trip
// benchmarks (framed and grpc-go) measure through it, so they are measured alike.
func runCalls(b *testing.B, callers, size int, call func() error) {
	b.ReportAllocs()
	b.SetBytes(int64(2 * size))
	b.ResetTimer()
	if callers == 1 {
		for i := 0; i < b.N; i++ {
			if err := call(); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	var wg sync.WaitGroup
	var next sync.Mutex
	n := b.N
	for g := 0; g < callers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				if n == 0 {
					next.Unlock()
					return
				}
				n--
				next.Unlock()
				if err := call(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkStream measures items per second through one stream with the default window:
// one op is one 256-byte item from handler to caller, credit included.
func BenchmarkStream(b *testing.B) {
	for _, tr := range []channel.Transport{framed.TCP(), framed.Unix()} {
		b.Run(tr.Name(), func(b *testing.B) {
			ctx := context.Background()
			item := make([]byte, 256)
			c := benchConn(b, tr, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
				n := int(req.Data[0])<<24 | int(req.Data[1])<<16 | int(req.Data[2])<<8 | int(req.Data[3])
				e := &channel.Envelope{Type: channel.TypeItem, Data: item}
				for i := 0; i < n; i++ {
					if w.Send(ctx, e) != nil {
						return
					}
				}
				w.Send(ctx, &channel.Envelope{Type: channel.TypeEnd})
			}), channel.Config{})
			b.ReportAllocs()
			b.SetBytes(256)
			b.ResetTimer()
			n := b.N
			x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeStream, Data: []byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}})
			if err != nil {
				b.Fatal(err)
			}
			defer x.Close()
			for i := 0; i <= n; i++ {
				r, err := x.Recv(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if (i < n) != (r.Type == channel.TypeItem) {
					b.Fatalf("message %d: %s", i, r.Type)
				}
			}
		})
	}
}

// BenchmarkOneWay measures noResponse requests of 64 bytes from 1 and 64 concurrent
// senders sharing one Conn (the default pool of 2 connections) to a handler that only
// counts them: one op is one request handed to Open, and the timing includes waiting
// until the handler has seen every one. It reports messages per second and write
// system calls per message (the whole process, both ends: /proc/self/io syscw), which
// shows whether concurrent senders share writes.
func BenchmarkOneWay(b *testing.B) {
	for _, tr := range []channel.Transport{framed.TCP(), framed.Unix()} {
		for _, senders := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/senders=%d", tr.Name(), senders), func(b *testing.B) {
				benchOneWay(b, tr, senders)
			})
		}
	}
}

func benchOneWay(b *testing.B, tr channel.Transport, senders int) {
	ctx := context.Background()
	var received atomic.Int64
	var target atomic.Int64
	done := make(chan struct{}, 1)
	c := benchConn(b, tr, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		if received.Add(1) == target.Load() {
			done <- struct{}{}
		}
	}), channel.Config{})
	data := make([]byte, 64)
	req := func() error {
		_, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, Method: "log.write", Data: data})
		return err
	}
	// Dial both connections of the pool and see one request through, outside the timing.
	target.Store(2)
	for range 2 {
		if err := req(); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	received.Store(0)
	target.Store(int64(b.N))
	w0 := writeSyscalls()
	start := time.Now()
	runCalls(b, senders, 64, req)
	<-done
	elapsed := time.Since(start)
	b.StopTimer()
	if w0 >= 0 {
		b.ReportMetric(float64(writeSyscalls()-w0)/float64(b.N), "writes/msg")
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	oc := c.(channel.OneWayCounter)
	channeltest.Eventually(b, 10*time.Second, "the last credits", func() bool { // they come within a millisecond
		st := oc.OneWayStats()
		return st.Delivered == st.Sent
	})
	if st := oc.OneWayStats(); st.Sent != uint64(b.N)+2 || st.Dropped+st.Lost != 0 || received.Load() != int64(b.N) {
		b.Fatalf("sent %d, received %d, counts %+v", b.N, received.Load(), st)
	}
}

// writeSyscalls is the number of write system calls the process made so far, or -1
// where /proc/self/io is not available.
func writeSyscalls() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}
