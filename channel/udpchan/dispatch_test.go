package udpchan

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/jesus-go/jesus/channel"
)

// BenchmarkDispatch is the listener's own cost per datagram, without the socket: size
// check, parse, dedup bookkeeping, the handler goroutine and, in ack mode, the ack
// written to a socket nobody reads.
func BenchmarkDispatch(b *testing.B) {
	for _, mode := range []channel.Mode{channel.ModeNoResponse, channel.ModeAck} {
		b.Run(mode.String(), func(b *testing.B) {
			l, err := listen(context.Background(), "127.0.0.1:0", channel.Config{}, options{dedupEntries: DefaultDedupEntries, dedupBytes: DefaultDedupBytes})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			var n atomic.Int64
			l.h = channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
				n.Add(1)
				if req.Mode == channel.ModeAck {
					w.Send(ctx, &channel.Envelope{Type: channel.TypeAck})
				}
			})
			peer := netip.MustParseAddrPort("127.0.0.1:9") // discard
			req := &channel.Envelope{Type: channel.TypeRequest, Mode: mode, Method: "log.write", Codec: "msgpack", Data: make([]byte, 200)}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req.ID = uint64(i) + 1
				in := l.pool.Get().(*inbound)
				pkt := channel.AppendEnvelope(in.buf[:0], req)
				l.handle(in, len(pkt), peer)
				if i%512 == 511 {
					l.handlers.Wait() // stay under MaxInFlight
				}
			}
			l.handlers.Wait()
			b.StopTimer()
			if st := l.Stats(); st.Overloaded != 0 || n.Load() != int64(b.N) {
				b.Fatalf("handled %d of %d, stats %+v", n.Load(), b.N, st)
			}
		})
	}
}
