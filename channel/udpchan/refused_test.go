package udpchan_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/udpchan"
)

// TestAckToNobodyFailsFast: an ack request to a port where nothing listens ends with the
// refusal (ECONNREFUSED, from the ICMP port-unreachable of its retransmission) instead of
// retransmitting until the caller's deadline, so that callers fail over as with tcp.
func TestAckToNobodyFailsFast(t *testing.T) {
	cfg := channel.Config{}.WithDefaults()
	c, err := udpchan.Dial(context.Background(), freeAddr(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	ex, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeAck, Method: "svc.put", Codec: "json", Data: []byte(`1`)})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	_, err = ex.Recv(ctx)
	took := time.Since(start)
	if !errors.Is(err, syscall.ECONNREFUSED) || took > 10*time.Second {
		t.Fatalf("after %s: %v", took, err)
	}
	t.Logf("refused after %s: %v", took.Round(time.Millisecond), err)
}
