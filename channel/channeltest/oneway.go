package channeltest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// RunOneWay checks the one-way contract for transports that count noResponse
// requests (channel.OneWayCounter on the Conn, channel.OneWayListenerCounter on the
// Listener): a handler's Send of a TypeError to a noResponse request returns nil and
// counts the request as dropped, other replies fail with channel.ErrNoReply, and the
// counts add up. It is separate from Run so that a transport takes it on when it
// implements the counters.
//
// A reliable transport must, once idle, report Sent == Delivered + Dropped + Lost on
// the Conn, with the handler's refusals in Dropped; an unreliable one reports Sent and
// leaves Delivered at 0.
func RunOneWay(t *testing.T, f Factory) {
	t.Helper()
	if f.Transport == nil || f.Addr == nil {
		t.Fatal("channeltest: Factory needs Transport and Addr")
	}
	s := &suite{f: f, caps: f.Transport.Caps()}
	t.Run("ErrorReplyIsDrop", func(t *testing.T) {
		CheckLeaks(t)
		s.testOneWayErrorIsDrop(t)
	})
}

func (s *suite) testOneWayErrorIsDrop(t *testing.T) {
	cfg := s.config()
	type seen struct {
		method                       string
		errSend, againSend, respSend error
	}
	got := make(chan seen, 16)
	srv := s.serve(t, cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		sn := seen{method: req.Method}
		sn.respSend = w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse})
		if req.Method == "log.refuse" {
			sn.errSend = w.Send(ctx, &channel.Envelope{Type: channel.TypeError, ErrCode: channel.CodeUnavailable, ErrMessage: "not now"})
			sn.againSend = w.Send(ctx, &channel.Envelope{Type: channel.TypeError, ErrCode: channel.CodeUnavailable, ErrMessage: "still not"})
		}
		got <- sn
	}))
	lc, ok := srv.ln.(channel.OneWayListenerCounter)
	if !ok {
		t.Fatalf("%T does not implement channel.OneWayListenerCounter", srv.ln)
	}
	c := s.dial(t, srv.ln.Addr(), cfg)
	cc, ok := c.(channel.OneWayCounter)
	if !ok {
		t.Fatalf("%T does not implement channel.OneWayCounter", c)
	}
	ctx := tctx(t)
	methods := []string{"log.take", "log.refuse", "log.take", "log.refuse"}
	for _, m := range methods {
		if x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, Method: m}); err != nil || x != nil {
			t.Fatalf("Open(noResponse) = %v, %v; want nil, nil", x, err)
		}
	}
	want := len(methods)
	if !s.caps.Reliable {
		want = 1 // udp may lose datagrams
	}
	refused := uint64(0)
	for i := 0; i < want; i++ {
		select {
		case sn := <-got:
			if !errors.Is(sn.respSend, channel.ErrNoReply) {
				t.Fatalf("Send(response) to a noResponse request: %v, want ErrNoReply", sn.respSend)
			}
			if sn.method == "log.refuse" {
				refused++
				if sn.errSend != nil {
					t.Fatalf("Send(error) to a noResponse request: %v, want nil (a counted drop)", sn.errSend)
				}
				if !errors.Is(sn.againSend, channel.ErrClosed) {
					t.Fatalf("a second Send(error): %v, want ErrClosed", sn.againSend)
				}
			}
		case <-ctx.Done():
			t.Fatalf("handler saw %d of %d noResponse requests", i, want)
		}
	}
	// Counts settle after the handlers return (and, where the transport reports back,
	// once the verdicts reach the caller): poll them, within what is left of ctx.
	deadline, _ := ctx.Deadline()
	EventuallyState(t, time.Until(deadline), "listener counts to settle", func() (bool, string) {
		st := lc.OneWayListenerStats()
		if s.caps.Reliable {
			return st.Received == uint64(want) && st.Dropped == refused, stats(st)
		}
		return st.Received >= uint64(want) && st.Dropped >= refused, stats(st)
	})
	EventuallyState(t, time.Until(deadline), "conn counts to settle", func() (bool, string) {
		st := cc.OneWayStats()
		if st.Sent != uint64(len(methods)) {
			return false, stats(st)
		}
		if !s.caps.Reliable {
			return st.Delivered == 0 && st.Dropped == 0 && st.Lost <= st.Sent, stats(st)
		}
		return st.Delivered == uint64(want)-refused && st.Dropped == refused && st.Lost == 0, stats(st)
	})
}

func stats(v any) string { return fmt.Sprintf("%+v", v) }
