package framed_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/framed"
	"github.com/jesus-go/jesus/channel/internal/memtest"
)

// partialFrameBytes is the preface and all but the last byte of a frame that declares size
// bytes: written by every connection of a test, made once (the test's own heap counts too).
func partialFrameBytes(size int) []byte {
	b := make([]byte, 6+4+size-1)
	copy(b, prefaceBytes)
	binary.BigEndian.PutUint32(b[6:], uint32(size))
	return b
}

// partialFrame connects and sends b (partialFrameBytes), and returns the connection (nil
// when the server refused it first).
func partialFrame(addr string, b []byte) net.Conn {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil
	}
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := nc.Write(b); err != nil {
		nc.Close()
		return nil
	}
	return nc
}

// Forty connections that each hold a partial frame of MaxMessage-1 bytes cost the server at
// most its memory budget (MemoryBudget, here the default), not 40 x 4 MiB: frames past the
// budget are refused with resource_exhausted and their connections closed.
func TestPartialFramesWithinBudget(t *testing.T) {
	cfg := channel.Config{}.WithDefaults()
	ln, err := framed.TCP().Listen(context.Background(), "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- ln.Serve(benchEcho) }()
	defer func() { ln.Close(); <-served }()
	b := partialFrameBytes(cfg.MaxMessage - 1)
	m := memtest.Start(5 * time.Millisecond)
	const conns = 40
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		held []net.Conn
	)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if nc := partialFrame(ln.Addr(), b); nc != nil {
				mu.Lock()
				held = append(held, nc)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	m.Settle(10 * time.Second)
	f := m.Stop()
	// A held connection whose frame was refused has an error frame waiting, then EOF.
	refused := 0
	for _, nc := range held {
		nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		var hdr [6 + 4]byte
		if _, err := io.ReadFull(nc, hdr[:]); err == nil {
			refused++
		}
		nc.Close()
	}
	refused += conns - len(held)
	t.Logf("%d connections with a %d-byte partial frame, MemoryBudget %d MiB: %d refused; %s",
		conns, cfg.MaxMessage-1, cfg.MemoryBudget>>20, refused, f)
	if limit := cfg.MemoryBudget + 16<<20; f.HeapGrowth() > limit {
		t.Fatalf("heap grew by %d MiB, over the %d MiB budget", f.HeapGrowth()>>20, cfg.MemoryBudget>>20)
	}
	if refused == 0 {
		t.Fatal("no partial frame was refused")
	}
}

// A partial frame is dropped after FrameTimeout: its connection is closed.
func TestPartialFrameTimesOut(t *testing.T) {
	cfg := channel.Config{FrameTimeout: 200 * time.Millisecond}.WithDefaults()
	ln := startEcho(t, cfg)
	p := greeted(t, ln.Addr())
	p.write([]byte{0, 0, 1, 0, 1, 2, 3}) // 3 of 256 bytes
	start := time.Now()
	if _, err := p.readFrame(); err == nil {
		t.Fatal("a frame came back for a partial frame")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("closed after %v, FrameTimeout is %v", d, cfg.FrameTimeout)
	}
	checkCall(t, dialEcho(t, ln.Addr()))
}

// Connections over MaxConns are closed at once; the ones admitted keep working.
func TestMaxConns(t *testing.T) {
	cfg := channel.Config{MaxConns: 4}.WithDefaults()
	ln := startEcho(t, cfg)
	var peers []*rawPeer
	for i := 0; i < 4; i++ {
		p := greeted(t, ln.Addr())
		peers = append(peers, p)
	}
	extra := dialRaw(t, ln.Addr(), prefaceBytes)
	extra.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := extra.br.ReadByte(); err == nil {
		t.Fatal("a connection over MaxConns got a preface")
	}
	p := peers[0]
	p.write(frame(&channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, ID: 1, Method: "m", Data: []byte("ok")}))
	if e, err := p.readFrame(); err != nil || e.Type != channel.TypeResponse {
		t.Fatalf("admitted connection: %v %v", e, err)
	}
	for _, p := range peers {
		p.nc.Close()
	}
}

func dialEcho(t *testing.T, addr string) channel.Conn {
	t.Helper()
	c, err := framed.TCP().Dial(context.Background(), addr, channel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A frame that would take the listener over its memory budget gets an error frame
// (id 0, resource_exhausted) and the connection is closed; other connections go on.
func TestFrameOverBudget(t *testing.T) {
	budget := channel.NewBudget(8 << 20)
	cfg := channel.Config{Budget: budget}.WithDefaults()
	ln := startEcho(t, cfg)
	good := dialEcho(t, ln.Addr())
	checkCall(t, good)
	p := greeted(t, ln.Addr())
	fill := budget.Limit() - budget.Used() - 32<<10 // what other peers hold
	if !budget.Acquire(fill) {
		t.Fatal("could not fill the budget")
	}
	p.write(frame(&channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, ID: 1, Method: "m", Data: make([]byte, 100<<10)}))
	e, err := p.readFrame()
	if err != nil || e.Type != channel.TypeError || e.ErrCode != channel.CodeResourceExhausted || e.ID != 0 {
		t.Fatalf("got %v %v, want an error frame resource_exhausted", e, err)
	}
	if _, err := p.readFrame(); err == nil {
		t.Fatal("connection stayed open")
	}
	budget.Release(fill)
	checkCall(t, good)
	// Everything charged is given back once the connections are gone.
	good.Close()
	ln.Close()
	if used := budget.Used(); used != 0 {
		t.Fatalf("%d bytes of the budget still held after the listener closed", used)
	}
}
