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

// FuzzReply feeds the client's reply path (size check, parse, match by id, hand-over)
// with arbitrary datagrams and with well-formed replies built from arbitrary fields for
// an exchange that is waiting, and checks that a reply reaches only its own exchange.
func FuzzReply(f *testing.F) {
	f.Add(byte(channel.TypeAck), "", []byte(nil), []byte{1, 3, 2, 1, 0})
	f.Add(byte(channel.TypeError), "not_found", []byte("x"), []byte{1, 6, 2, 0x80, 0x80, 1, 0})
	f.Add(byte(channel.TypeResponse), "", []byte(nil), []byte{})
	f.Add(byte(0), "", []byte(nil), make([]byte, 2000))
	f.Add(byte(channel.TypeAck), "", []byte("payload"), []byte{1, 3, 0, 1, 11, 200, 'x'})

	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { sink.Close() })
	c, err := Dial(context.Background(), sink.LocalAddr().String(), channel.Config{RetryInterval: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { c.Close() })
	var hdr channel.Envelope

	f.Fuzz(func(t *testing.T, typ byte, code string, data, raw []byte) {
		req := &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, Method: "svc.do"}
		x, err := c.Open(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		c.handleReply(raw, &hdr)
		reply := channel.AppendEnvelope(nil, &channel.Envelope{Type: channel.Type(typ), ID: req.ID, ErrCode: code, Data: data})
		c.handleReply(reply, &hdr)
		ex := x.(*exchange)
		select {
		case <-ex.done:
			if ex.reply != nil && (ex.reply.ID != req.ID || (ex.reply.Type != channel.TypeAck && ex.reply.Type != channel.TypeError)) {
				t.Fatalf("exchange %d finished with %s for id %d", req.ID, ex.reply.Type, ex.reply.ID)
			}
		default:
			if rt := channel.Type(typ); (rt == channel.TypeAck || rt == channel.TypeError) && len(reply) <= c.limit {
				t.Fatalf("a well-formed %s for waiting exchange %d was not delivered", rt, req.ID)
			}
		}
	})
}
