package udpchan_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/udpchan"
)

// rawAck sends one ack-mode request with a chosen id from raw and returns the reply.
func rawAck(t *testing.T, raw net.Conn, id uint64) *channel.Envelope {
	t.Helper()
	if _, err := raw.Write(channel.AppendEnvelope(nil, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, ID: id, Method: "svc.do"})); err != nil {
		t.Fatal(err)
	}
	r, _, err := readReply(t, raw)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != id {
		t.Fatalf("reply for id %d, want %d", r.ID, id)
	}
	return r
}

func TestDuplicatesAnsweredFromCache(t *testing.T) {
	channeltest.CheckLeaks(t)
	var runs atomic.Int64
	srv := serve(t, udpchan.New(), testConfig(), func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		runs.Add(1)
		w.Send(ctx, &channel.Envelope{Type: channel.TypeError, ErrCode: "not_found", ErrMessage: "no order 7"})
	})
	raw := rawConn(t, srv.ln.Addr())
	for i := 0; i < 5; i++ {
		r := rawAck(t, raw, 7)
		if r.Type != channel.TypeError || r.ErrCode != "not_found" || r.ErrMessage != "no order 7" {
			t.Fatalf("send %d: got %+v", i, r)
		}
	}
	if runs.Load() != 1 {
		t.Fatalf("handler ran %d times for one request sent 5 times", runs.Load())
	}
	if st := srv.ln.Stats(); st.Duplicates != 4 || st.Remembered != 1 {
		t.Fatalf("stats %+v, want 4 duplicates and 1 remembered exchange", st)
	}
}

func TestDuplicateOfRunningExchangeDropped(t *testing.T) {
	channeltest.CheckLeaks(t)
	started, release := make(chan struct{}, 2), make(chan struct{})
	srv := serve(t, udpchan.New(), testConfig(), func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		started <- struct{}{}
		<-release
		ack(ctx, req, w)
	})
	raw := rawConn(t, srv.ln.Addr())
	pkt := channel.AppendEnvelope(nil, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, ID: 5})
	raw.Write(pkt)
	<-started
	raw.Write(pkt)
	raw.Write(pkt)
	channeltest.Eventually(t, wait, "duplicates to be counted", func() bool { return srv.ln.Stats().Duplicates == 2 })
	close(release)
	raw.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 256)
	if _, err := raw.Read(buf); err != nil {
		t.Fatal(err)
	}
	if len(started) != 0 {
		t.Fatal("handler ran for a duplicate")
	}
}

func TestDedupTableBound(t *testing.T) {
	channeltest.CheckLeaks(t)
	const bound = 32
	var runs atomic.Int64
	srv := serve(t, udpchan.New(udpchan.WithDedupLimits(bound, 0)), testConfig(), countingAck(&runs))
	raw := rawConn(t, srv.ln.Addr())
	const n = 200
	for id := uint64(1); id <= n; id++ {
		rawAck(t, raw, id)
		if st := srv.ln.Stats(); st.Remembered > bound {
			t.Fatalf("after %d ids the table holds %d entries, bound %d", id, st.Remembered, bound)
		}
	}
	st := srv.ln.Stats()
	if st.Evicted != n-bound || st.Remembered != bound {
		t.Fatalf("stats %+v, want %d evicted and %d remembered", st, n-bound, bound)
	}
	// A recent id is still remembered; an evicted one reaches the handler again.
	rawAck(t, raw, n)
	if runs.Load() != n {
		t.Fatalf("handler ran %d times, want %d", runs.Load(), n)
	}
	rawAck(t, raw, 1)
	if runs.Load() != n+1 {
		t.Fatalf("handler ran %d times after an evicted id came back, want %d", runs.Load(), n+1)
	}
}

func TestDedupBytesBound(t *testing.T) {
	channeltest.CheckLeaks(t)
	msg := strings.Repeat("e", 400)
	srv := serve(t, udpchan.New(udpchan.WithDedupLimits(0, 2000)), testConfig(), func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		w.Send(ctx, &channel.Envelope{Type: channel.TypeError, ErrCode: "internal", ErrMessage: msg})
	})
	raw := rawConn(t, srv.ln.Addr())
	for id := uint64(1); id <= 20; id++ {
		rawAck(t, raw, id)
	}
	if st := srv.ln.Stats(); st.Remembered > 4 || st.Evicted < 16 {
		t.Fatalf("stats %+v, want at most 4 cached replies of ~420 bytes within 2000 bytes", st)
	}
}

func TestDedupWindowExpires(t *testing.T) {
	channeltest.CheckLeaks(t)
	cfg := testConfig()
	cfg.DedupWindow = 50 * time.Millisecond
	var runs atomic.Int64
	srv := serve(t, udpchan.New(), cfg, countingAck(&runs))
	raw := rawConn(t, srv.ln.Addr())
	start := time.Now()
	rawAck(t, raw, 1)
	for runs.Load() < 2 { // the same id, until the window has passed
		rawAck(t, raw, 1)
	}
	if el := time.Since(start); el < cfg.DedupWindow {
		t.Fatalf("the handler saw a duplicate after %v, inside the %v window", el, cfg.DedupWindow)
	}
	channeltest.Eventually(t, wait, "the table to forget the exchange", func() bool { return srv.ln.Stats().Remembered == 0 })
}
