package udpchan

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// FuzzDatagram feeds arbitrary bytes to the listener's datagram path (size check,
// parse, dispatch, dedup bookkeeping, replies) twice in a row, as a retransmission
// would, and checks that nothing panics and the dedup table stays within its bound.
func FuzzDatagram(f *testing.F) {
	req := func(e channel.Envelope) []byte { return channel.AppendEnvelope(nil, &e) }
	f.Add(req(channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, ID: 1, Method: "svc.do"}))
	f.Add(req(channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, ID: 2, Method: "svc.do", Data: []byte("xx")}))
	f.Add(req(channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, ID: 3, Data: []byte("x")}))
	f.Add(req(channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, ID: 4, Method: "log.write", Data: []byte("line")}))
	f.Add(req(channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, ID: 5}))
	f.Add(req(channel.Envelope{Type: channel.TypeCancel, Mode: channel.ModeAck, ID: 1}))
	f.Add(req(channel.Envelope{Type: channel.TypeAck, ID: 1}))
	f.Add(req(channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, ID: 1 << 63, Meta: channel.Meta{Extra: map[string]string{"k": "v"}}}))
	f.Add([]byte{1, 1, 0, 1, 0})
	f.Add([]byte{1, 1, 2, 0x80})
	f.Add([]byte{})
	f.Add(make([]byte, 300))

	cfg := channel.Config{MaxDatagram: 256, MaxInFlight: 4, DedupWindow: time.Millisecond}.WithDefaults()
	l, err := listen(context.Background(), "127.0.0.1:0", cfg, options{dedupEntries: 8, dedupBytes: 1 << 10})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { l.Close() })
	// Replies go to a socket nobody reads; the kernel drops what overflows.
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { sink.Close() })
	peer := sink.LocalAddr().(*net.UDPAddr).AddrPort()
	l.h = channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		switch len(req.Data) % 3 {
		case 0:
			w.Send(ctx, &channel.Envelope{Type: channel.TypeAck, Data: req.Data})
		case 1:
			w.Send(ctx, &channel.Envelope{Type: channel.TypeError, ErrCode: req.Method, ErrMessage: strings.Repeat("é", 200), ErrDetails: req.Data})
		}
		w.Send(ctx, &channel.Envelope{Type: channel.TypeAck}) // a second reply must fail cleanly
	})

	f.Fuzz(func(t *testing.T, b []byte) {
		for range 2 {
			in := l.pool.Get().(*inbound)
			n := copy(in.buf, b)
			if len(b) > len(in.buf) {
				n = len(in.buf) // what a read of an oversize datagram returns
			}
			l.handle(in, n, netip.AddrPortFrom(peer.Addr(), peer.Port()))
		}
		l.handlers.Wait()
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.active.Load() != 0 || l.dedup.n > 8 || l.dedup.bytes > 1<<10 || l.dedup.len() != l.dedup.n {
			t.Fatalf("after the handlers: active %d, table %d entries (%d in ring, %d bytes)", l.active.Load(), l.dedup.len(), l.dedup.n, l.dedup.bytes)
		}
	})
}
