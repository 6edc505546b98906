package udptest_test

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/udpchan/udptest"
)

// echoServer answers every datagram with the same bytes until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			pc.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc.LocalAddr().String()
}

// exchange sends n datagrams one at a time and reports which came back within the read
// deadline d (a lost datagram cannot be waited on otherwise).
func exchange(t *testing.T, addr string, n int, d time.Duration) []bool {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make([]bool, n)
	buf := make([]byte, 64)
	for i := range got {
		if _, err := c.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(d))
		m, err := c.Read(buf)
		got[i] = err == nil && m == 1 && buf[0] == byte(i)
	}
	return got
}

func TestProxyForwardsBothWays(t *testing.T) {
	channeltest.CheckLeaks(t)
	p := udptest.NewLossyProxy(t, echoServer(t), 0, 1)
	for i, ok := range exchange(t, p.Addr(), 20, 10*time.Second) {
		if !ok {
			t.Fatalf("datagram %d was lost with drop 0", i)
		}
	}
	if p.Forwarded() != 40 || p.Dropped() != 0 {
		t.Fatalf("forwarded %d dropped %d, want 40 and 0", p.Forwarded(), p.Dropped())
	}
	p.SetDrop(1)
	for i, ok := range exchange(t, p.Addr(), 3, 100*time.Millisecond) {
		if ok {
			t.Fatalf("datagram %d came back with drop 1", i)
		}
	}
	if p.Dropped() != 3 {
		t.Fatalf("dropped %d, want 3", p.Dropped())
	}
}

func TestProxyLossIsSeeded(t *testing.T) {
	channeltest.CheckLeaks(t)
	// One way only, so that the order of the drop decisions is the order of sending.
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	const n = 100
	run := func() map[byte]bool {
		p := udptest.NewLossyProxy(t, sink.LocalAddr().String(), 0.3, 7)
		defer p.Close()
		c, err := net.Dial("udp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for i := 0; i < n; i++ {
			c.Write([]byte{byte(i)})
		}
		channeltest.EventuallyState(t, 10*time.Second, "the proxy to handle every datagram", func() (bool, string) {
			handled := p.Forwarded() + p.Dropped()
			return handled >= n, fmt.Sprintf("%d of %d handled", handled, n)
		})
		got := map[byte]bool{}
		buf := make([]byte, 16)
		for len(got) < int(p.Forwarded()) {
			sink.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := sink.Read(buf); err != nil {
				t.Fatal(err)
			}
			got[buf[0]] = true
		}
		if p.Dropped() < n/10 || p.Dropped() > n/2 {
			t.Fatalf("dropped %d of %d at 30%%", p.Dropped(), n)
		}
		return got
	}
	a, b := run(), run()
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("the same seed let different datagrams through:\n%v\n%v", a, b)
	}
}
