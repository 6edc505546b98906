package udpchan_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/udpchan"
)

// TestShutdownAnswersLostAcks: a request is handled and acked, and the ack is lost (the
// sender never reads it). The listener shuts down meanwhile; the sender's retransmission
// still gets the ack from the cache, not a closed port that would send it elsewhere, and
// the handler does not run again.
func TestShutdownAnswersLostAcks(t *testing.T) {
	channeltest.CheckLeaks(t)
	var runs atomic.Int64
	srv := serve(t, udpchan.New(), testConfig(), func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		runs.Add(1)
		ack(ctx, req, w)
	})
	raw, err := net.Dial("udp", srv.ln.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	pkt := channel.AppendEnvelope(nil, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, ID: 9, Method: "svc.do"})
	if _, err := raw.Write(pkt); err != nil {
		t.Fatal(err)
	}
	channeltest.Eventually(t, wait, "the request to be answered", func() bool { return runs.Load() == 1 && srv.ln.Stats().Remembered == 1 })
	// The ack sits unread in raw's buffer: lost, as far as the sender knows.
	shut := make(chan error, 1)
	go func() { shut <- srv.ln.Shutdown(context.Background()) }()
	if r := rawAck(t, raw, 9); r.Type != channel.TypeAck { // reads the lost ack first,
		t.Fatalf("got %+v", r)
	}
	if r := rawAck(t, raw, 9); r.Type != channel.TypeAck { // then the retransmission's
		t.Fatalf("retransmission during shutdown: got %+v", r)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if runs.Load() != 1 {
		t.Fatalf("handler ran %d times", runs.Load())
	}
}
