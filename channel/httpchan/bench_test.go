package httpchan_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
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

// BenchmarkVsNetHTTP puts the transport beside what it is built on, in the same run: an
// httpchan response-mode call (Conn.Open, Exchange.Recv, a channel.Handler answering with
// the request's bytes) and a plain net/http handler echoing a POST body to an http.Client,
// with no codec work on either side. calls/s and allocs/op of each, and their ratio, say
// what the mapping costs. Each case reports the server connections it saw: a number near
// the caller count means the client kept its connections alive.
func BenchmarkVsNetHTTP(b *testing.B) {
	for _, size := range []int{256, 4 << 10} {
		for _, callers := range []int{1, 64} {
			name := fmt.Sprintf("%dB/callers=%d", size, callers)
			b.Run("httpchan/"+name, func(b *testing.B) { benchRoundTrip(b, size, callers) })
			b.Run("nethttp/"+name, func(b *testing.B) { benchNetHTTP(b, size, callers) })
		}
	}
}

// countingListener counts the connections a server accepted.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func benchRoundTrip(b *testing.B, size, callers int) {
	ctx := context.Background()
	tr := httpchan.New()
	ln, err := tr.Listen(ctx, "127.0.0.1:0", channel.Config{})
	if err != nil {
		b.Fatal(err)
	}
	peers := make(map[string]bool)
	var peerCount atomic.Int64
	peerCh := make(chan string, 1024)
	go ln.Serve(channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		select {
		case peerCh <- w.Peer():
		default:
		}
		w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Codec: req.Codec, Data: req.Data})
	}))
	defer ln.Close()
	stopPeers := make(chan struct{})
	peersDone := make(chan struct{})
	go func() {
		defer close(peersDone)
		for {
			select {
			case p := <-peerCh:
				if !peers[p] {
					peers[p] = true
					peerCount.Add(1)
				}
			case <-stopPeers:
				return
			}
		}
	}()
	c, err := tr.Dial(ctx, ln.Addr(), channel.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	one := channeltest.SizedCall(ctx, c, channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "bench.echo", Codec: "msgpack", Data: make([]byte, size)})
	runCallers(b, size, callers, one)
	close(stopPeers)
	<-peersDone
	b.ReportMetric(float64(peerCount.Load()), "conns")
}

func benchNetHTTP(b *testing.B, size, callers int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/msgpack")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body)
		}),
	}
	go srv.Serve(cl)
	defer srv.Close()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}}
	defer hc.CloseIdleConnections()
	url := "http://" + ln.Addr().String() + "/bench.echo"
	data := make([]byte, size)
	one := func() error {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(data))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/msgpack")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && (resp.StatusCode != http.StatusOK || len(body) != size) {
			err = fmt.Errorf("reply %d of %d bytes", resp.StatusCode, len(body))
		}
		return err
	}
	runCallers(b, size, callers, one)
	b.ReportMetric(float64(cl.n.Load()), "conns")
}

// runCallers runs one b.N times from the given number of goroutines and reports calls/s.
func runCallers(b *testing.B, size, callers int, one func() error) {
	b.Helper()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if callers == 1 {
		for i := 0; i < b.N; i++ {
			if err := one(); err != nil {
				b.Fatal(err)
			}
		}
	} else {
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
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}
