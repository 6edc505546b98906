package httpchan_test

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/internal/memtest"
)

// Five thousand idle connections (connected, nothing sent) cost the server at most
// MaxConns of them (default 1024): the others are closed at once.
func TestIdleConnectionsBounded(t *testing.T) {
	channeltest.CheckLeaks(t)
	cfg := channel.Config{}.WithDefaults()
	ln := serve(t, cfg, respond)
	m := memtest.Start(5 * time.Millisecond)
	const n = 5000
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", ln.Addr())
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	m.Settle(10 * time.Second)
	f := m.Stop()
	// Read every connection at once, each for a moment: a closed one reads EOF, an open
	// one times out.
	var open atomic.Int64
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b [1]byte
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			if _, err := c.Read(b[:]); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					open.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d idle http connections, MaxConns %d: %d kept open; %s", n, cfg.MaxConns, open.Load(), f)
	if open := int(open.Load()); open > cfg.MaxConns {
		t.Fatalf("%d connections kept open, over MaxConns %d", open, cfg.MaxConns)
	}
	// One call still goes through on a fresh connection once the idle ones are gone.
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	c := dial(t, ln.Addr(), cfg)
	// The server notices the closes on its own time.
	channeltest.EventuallyState(t, 10*time.Second, "a call to go through after the idle connections closed", func() (bool, string) {
		x, err := c.Open(testCtx(t), &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "svc.echo", Data: []byte("1")})
		if err != nil {
			return false, err.Error()
		}
		r, err := x.Recv(testCtx(t))
		x.Close()
		if err != nil {
			return false, err.Error()
		}
		return r.Type == channel.TypeResponse, r.Type.String()
	})
}

// A body that would take the listener over its memory budget is refused before it is
// read: 429 resource_exhausted; once the budget has room again, it goes through.
func TestBodyOverBudget(t *testing.T) {
	channeltest.CheckLeaks(t)
	budget := channel.NewBudget(8 << 20)
	cfg := channel.Config{Budget: budget}.WithDefaults()
	ln := serve(t, cfg, respond)
	c := dial(t, ln.Addr(), cfg)
	filler := budget.Limit() - budget.Used() - 32<<10 // what other peers hold
	if !budget.Acquire(filler) {
		t.Fatal("could not fill the budget")
	}
	req := &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "svc.echo", Data: make([]byte, 64<<10)}
	x, err := c.Open(testCtx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	r, err := x.Recv(testCtx(t))
	x.Close()
	if err != nil || r.Type != channel.TypeError || r.ErrCode != channel.CodeResourceExhausted {
		t.Fatalf("got %v %v, want resource_exhausted", r, err)
	}
	t.Log(r.ErrMessage)
	// Only the filler: the charge of a connection still open is its own to give back.
	budget.Release(filler)
	x, err = c.Open(testCtx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := x.Recv(testCtx(t)); err != nil || r.Type != channel.TypeResponse {
		t.Fatalf("after release: %v %v", r, err)
	}
	x.Close()
	// Everything charged is given back once the connections are gone.
	c.Close()
	ln.Close()
	// net/http reports closed connections on its own time.
	channeltest.EventuallyState(t, 5*time.Second, "the budget to be given back after the listener closed", func() (bool, string) {
		return budget.Used() == 0, fmt.Sprintf("%d bytes still held", budget.Used())
	})
}
