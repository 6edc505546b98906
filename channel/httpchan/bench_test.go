package httpchan_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/httpchan"
)

// BenchmarkRoundTrip measures a response-mode call over loopback: request out, handler,
// response back, with 1 and 64 concurrent callers on one Conn.
func BenchmarkRoundTrip(b *testing.B) {
	for _, size := range []int{256, 4 << 10} {
		for _, callers := range []int{1, 64} {
			b.Run(fmt.Sprintf("%dB/callers=%d", size, callers), func(b *testing.B) {
				benchRoundTrip(b, size, callers)
			})
		}
	}
}

func benchRoundTrip(b *testing.B, size, callers int) {
	ctx := context.Background()
	tr := httpchan.New()
	ln, err := tr.Listen(ctx, "127.0.0.1:0", channel.Config{})
	if err != nil {
		b.Fatal(err)
	}
	go ln.Serve(channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Codec: req.Codec, Data: req.Data})
	}))
	defer ln.Close()
	c, err := tr.Dial(ctx, ln.Addr(), channel.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	data := make([]byte, size)
	one := func() error {
		x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "bench.echo", Codec: "msgpack", Data: data})
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
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	if callers == 1 {
		for i := 0; i < b.N; i++ {
			if err := one(); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.SetParallelism((callers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := one(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
