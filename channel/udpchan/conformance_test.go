package udpchan_test

import (
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/udpchan"
)

// largeDatagrams is the udp transport with Caps reporting a datagram limit of 8000
// bytes, the MaxDatagram the conformance run configures: the suite's uncompressed codec
// samples (about 1.5 KB) do not fit the default of 1400. Sizes at the default limit are
// covered by TestOversizeRejectedAtSender.
type largeDatagrams struct{ channel.Transport }

func (t largeDatagrams) Caps() channel.Caps {
	c := t.Transport.Caps()
	c.MaxMessage = 8000
	return c
}

func TestConformance(t *testing.T) {
	channeltest.Run(t, channeltest.Factory{
		Transport: largeDatagrams{udpchan.New()},
		Addr:      channeltest.Loopback,
		Config: func(c *channel.Config) {
			c.MaxDatagram = 8000
			c.RetryInterval = 10 * time.Millisecond
		},
	})
}

func TestOneWayConformance(t *testing.T) {
	channeltest.RunOneWay(t, channeltest.Factory{
		Transport: udpchan.New(),
		Addr:      channeltest.Loopback,
	})
}

func TestCaps(t *testing.T) {
	tr := udpchan.New()
	if tr.Name() != "udp" {
		t.Fatalf("Name() = %q", tr.Name())
	}
	want := channel.Caps{MaxMessage: 1400}
	if got := tr.Caps(); got != want {
		t.Fatalf("Caps() = %+v, want %+v", got, want)
	}
}
