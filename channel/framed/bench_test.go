package framed_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/framed"
)

var benchEcho = channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
	w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Data: req.Data})
})

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
	ctx := context.Background()
	addr := "127.0.0.1:0"
	if tr.Name() == "unix" {
		addr = filepath.Join(b.TempDir(), "b.sock")
	}
	cfg := channel.Config{}
	ln, err := tr.Listen(ctx, addr, cfg)
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- ln.Serve(benchEcho) }()
	defer func() { ln.Close(); <-served }()
	c, err := tr.Dial(ctx, ln.Addr(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	data := make([]byte, size)
	call := func() error {
		x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "bench.echo", Data: data})
		if err != nil {
			return err
		}
		r, err := x.Recv(ctx)
		if err == nil && len(r.Data) != size {
			err = fmt.Errorf("reply of %d bytes", len(r.Data))
		}
		x.Close()
		return err
	}
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
			addr := "127.0.0.1:0"
			if tr.Name() == "unix" {
				addr = filepath.Join(b.TempDir(), "s.sock")
			}
			ln, err := tr.Listen(ctx, addr, channel.Config{})
			if err != nil {
				b.Fatal(err)
			}
			item := make([]byte, 256)
			served := make(chan error, 1)
			go func() {
				served <- ln.Serve(channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
					n := int(req.Data[0])<<24 | int(req.Data[1])<<16 | int(req.Data[2])<<8 | int(req.Data[3])
					e := &channel.Envelope{Type: channel.TypeItem, Data: item}
					for i := 0; i < n; i++ {
						if w.Send(ctx, e) != nil {
							return
						}
					}
					w.Send(ctx, &channel.Envelope{Type: channel.TypeEnd})
				}))
			}()
			defer func() { ln.Close(); <-served }()
			c, err := tr.Dial(ctx, ln.Addr(), channel.Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
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
