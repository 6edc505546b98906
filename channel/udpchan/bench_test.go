package udpchan_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/udpchan"
	"github.com/jesus-go/jesus/channel/udpchan/udptest"
)

// benchData is the payload of the benchmarks: a typical structured log line.
var benchData = make([]byte, 200)

func benchRequest(mode channel.Mode) *channel.Envelope {
	return &channel.Envelope{Type: channel.TypeRequest, Mode: mode, Method: "log.write", Codec: "msgpack", Data: benchData}
}

// benchSize is the datagram size of benchRequest, which the raw baselines send too.
var benchSize = channel.EnvelopeSize(&channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, ID: 1000, Method: "log.write", Codec: "msgpack", Data: benchData})

// benchServe serves h on a loopback listener and dials it; both close when the
// benchmark ends.
func benchServe(b *testing.B, h channel.HandlerFunc) (*udpchan.Listener, *udpchan.Conn) {
	b.Helper()
	ln, err := udpchan.Listen(context.Background(), "127.0.0.1:0", channel.Config{})
	if err != nil {
		b.Fatal(err)
	}
	channeltest.Serve(b, ln, h)
	c, err := udpchan.Dial(context.Background(), ln.Addr(), channel.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return ln, c
}

func report(b *testing.B, start time.Time, delivered uint64) {
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(delivered)/el, "datagrams/s")
	b.ReportMetric(float64(delivered)/float64(b.N), "delivered/op")
}

// newWindow is the credit window of the one-way benchmarks: 256 datagrams in flight.
func newWindow() *udptest.Window { return udptest.NewWindow(256, 200*time.Millisecond) }

// BenchmarkNoResponseSend is the fire-and-forget rate, sender to handler, with a
// listener receiving and dispatching on the same machine.
func BenchmarkNoResponseSend(b *testing.B) {
	var got atomic.Uint64
	w := newWindow()
	ln, c := benchServe(b, func(context.Context, *channel.Envelope, channel.ReplyWriter) { got.Add(1); w.Give() })
	ctx := context.Background()
	req := benchRequest(channel.ModeNoResponse)
	b.SetBytes(int64(benchSize))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		w.Take()
		if _, err := c.Open(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	w.Drain()
	report(b, start, got.Load())
	b.ReportMetric(float64(ln.Stats().Overloaded)/float64(b.N), "overloaded/op")
}

// BenchmarkRawUDPSend is the baseline of BenchmarkNoResponseSend: plain net.UDPConn
// writes of the same datagram size to a socket a goroutine reads from, one system call
// per datagram on each side, with the same credit window.
func BenchmarkRawUDPSend(b *testing.B) { rawUDPSend(b, 1) }

// BenchmarkRawUDPSendBatched is the same with batches of up to 32 datagrams per system
// call on both sides (sendmmsg and recvmmsg, as the transport uses): the most a program
// can move through loopback sockets on this machine, for scale.
func BenchmarkRawUDPSendBatched(b *testing.B) { rawUDPSend(b, 32) }

func rawUDPSend(b *testing.B, batch int) {
	w := newWindow()
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	srv.SetReadBuffer(4 << 20)
	var got atomic.Uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		pc := ipv4.NewPacketConn(srv)
		msgs := make([]ipv4.Message, batch)
		for i := range msgs {
			msgs[i].Buffers = [][]byte{make([]byte, 2048)}
		}
		buf := msgs[0].Buffers[0]
		for {
			n, err := 1, error(nil)
			if batch == 1 {
				_, _, err = srv.ReadFromUDPAddrPort(buf)
			} else {
				n, err = pc.ReadBatch(msgs, 0)
			}
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			for range n {
				got.Add(1)
				w.Give()
			}
		}
	}()
	defer func() { srv.Close(); <-done }()
	c, err := net.DialUDP("udp", nil, srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	pkt := make([]byte, benchSize)
	b.SetBytes(int64(benchSize))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if batch == 1 {
		for i := 0; i < b.N; i++ {
			w.Take()
			if _, err := c.Write(pkt); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		pc := ipv4.NewPacketConn(c)
		msgs := make([]ipv4.Message, batch)
		for i := range msgs {
			msgs[i].Buffers = [][]byte{pkt}
		}
		for i := 0; i < b.N; {
			k := min(batch, b.N-i)
			for range k {
				w.Take()
			}
			for sent := 0; sent < k; {
				n, err := pc.WriteBatch(msgs[sent:k], 0)
				if err != nil {
					b.Fatal(err)
				}
				sent += n
			}
			i += k
		}
	}
	w.Drain()
	report(b, start, got.Load())
}

// BenchmarkAckRoundTrip is one ack-mode request at a time: send, dispatch, ack, match.
func BenchmarkAckRoundTrip(b *testing.B) {
	_, c := benchServe(b, ack)
	ctx := context.Background()
	req := benchRequest(channel.ModeAck)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x, err := c.Open(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		r, err := x.Recv(ctx)
		if err != nil || r.Type != channel.TypeAck {
			b.Fatalf("%v %v", r, err)
		}
		x.Close()
	}
	b.StopTimer()
	if st := c.Stats(); st.Retransmits > 0 {
		b.Logf("%d retransmits in %d round trips", st.Retransmits, b.N)
	}
}

// BenchmarkAckParallel is ack-mode throughput with many requests in flight on one Conn,
// as an events emitter would have.
func BenchmarkAckParallel(b *testing.B) {
	_, c := benchServe(b, ack)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := benchRequest(channel.ModeAck)
			x, err := c.Open(ctx, req)
			if err != nil {
				b.Error(err)
				return
			}
			r, err := x.Recv(ctx)
			x.Close()
			if err != nil || r.Type != channel.TypeAck {
				b.Errorf("%v %v", r, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "acks/s")
	b.ReportMetric(float64(c.Stats().Retransmits)/float64(b.N), "retransmits/op")
}

// BenchmarkRawUDPRoundTrip is the baseline of BenchmarkAckRoundTrip: a datagram of the
// same size and a small answer between two plain sockets.
func BenchmarkRawUDPRoundTrip(b *testing.B) {
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			_, from, err := srv.ReadFromUDPAddrPort(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			srv.WriteToUDPAddrPort(buf[:5], from)
		}
	}()
	defer func() { srv.Close(); <-done }()
	c, err := net.DialUDP("udp", nil, srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	pkt, buf := make([]byte, benchSize), make([]byte, 2048)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(pkt); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
}
