package framed_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/framed"
)

var prefaceBytes = []byte{'J', 'S', 'U', 'S', 1, 0}

func frame(e *channel.Envelope) []byte {
	b := channel.AppendEnvelope(make([]byte, 4), e)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// rawPeer is a hand-driven client: it speaks the preface, then whatever the test writes.
type rawPeer struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string, pref []byte) *rawPeer {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	p := &rawPeer{t: t, nc: nc, br: bufio.NewReader(nc)}
	if pref != nil {
		p.write(pref)
	}
	return p
}

// greeted is a raw peer that has exchanged prefaces with the server at addr.
func greeted(t *testing.T, addr string) *rawPeer {
	t.Helper()
	p := dialRaw(t, addr, prefaceBytes)
	p.readPreface()
	return p
}

func (p *rawPeer) write(b []byte) {
	p.t.Helper()
	p.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := p.nc.Write(b); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

func (p *rawPeer) readPreface() {
	p.t.Helper()
	var b [6]byte
	p.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(p.br, b[:]); err != nil || string(b[:]) != string(prefaceBytes) {
		p.t.Fatalf("server preface %q, %v", b, err)
	}
}

// readFrame reads one frame, or returns the read error (io.EOF when the server closed).
func (p *rawPeer) readFrame() (*channel.Envelope, error) {
	p.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var h [4]byte
	if _, err := io.ReadFull(p.br, h[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint32(h[:]))
	if _, err := io.ReadFull(p.br, b); err != nil {
		return nil, err
	}
	var e channel.Envelope
	if err := channel.ParseEnvelope(b, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// expectErrorThenClose checks the documented reaction to a framing violation.
func (p *rawPeer) expectErrorThenClose(id uint64) {
	p.t.Helper()
	e, err := p.readFrame()
	if err != nil {
		p.t.Fatalf("want an error frame, got %v", err)
	}
	if e.Type != channel.TypeError || e.ErrCode != channel.CodeInvalidArgument || e.ID != id {
		p.t.Fatalf("got %s id %d code %q, want error id %d code %s", e.Type, e.ID, e.ErrCode, id, channel.CodeInvalidArgument)
	}
	if _, err := p.readFrame(); err == nil {
		p.t.Fatal("connection stayed open after a framing violation")
	}
}

func startEcho(t *testing.T, cfg channel.Config) channel.Listener {
	t.Helper()
	ln, err := framed.TCP().Listen(context.Background(), "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- ln.Serve(benchEcho) }()
	t.Cleanup(func() { ln.Close(); <-served })
	return ln
}

func checkCall(t *testing.T, c channel.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "m", Data: []byte("ok")})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer x.Close()
	r, err := x.Recv(ctx)
	if err != nil || r.Type != channel.TypeResponse || string(r.Data) != "ok" {
		t.Fatalf("call: %v %v", r, err)
	}
}

// badFrames are frames after which the server sends an error frame (for id) and closes
// the connection.
var badFrames = []struct {
	name  string
	bytes []byte
	id    uint64
}{
	{"4 GiB frame", []byte{0xff, 0xff, 0xff, 0xff}, 0},
	{"zero length", []byte{0, 0, 0, 0}, 0},
	{"garbage envelope", []byte{0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'}, 0},
	// the method declares 200 bytes
	{"malformed after a known id", append([]byte{0, 0, 0, 7}, 1, byte(channel.TypeRequest), byte(channel.ModeResponse), 42, 1, 200, 'x'), 42},
	{"reply type from a client", frame(&channel.Envelope{Type: channel.TypeResponse, ID: 3}), 3},
}

func TestHostilePeers(t *testing.T) {
	channeltest.CheckLeaks(t)
	cfg := channel.Config{KeepAlive: 200 * time.Millisecond}
	ln := startEcho(t, cfg)
	good, err := framed.TCP().Dial(context.Background(), ln.Addr(), channel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	checkCall(t, good)

	t.Run("not jesus", func(t *testing.T) {
		p := dialRaw(t, ln.Addr(), []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		if _, err := p.readFrame(); err == nil {
			t.Fatal("server answered a non-jesus peer")
		}
	})
	t.Run("wrong version", func(t *testing.T) {
		p := dialRaw(t, ln.Addr(), []byte{'J', 'S', 'U', 'S', 9, 0})
		p.readPreface() // the server says which version it speaks, then closes
		if _, err := p.readFrame(); err == nil {
			t.Fatal("connection stayed open after a version mismatch")
		}
	})
	for _, c := range badFrames {
		t.Run(c.name, func(t *testing.T) {
			p := greeted(t, ln.Addr())
			p.write(c.bytes)
			p.expectErrorThenClose(c.id)
		})
	}
	t.Run("bad mode keeps the connection", func(t *testing.T) { badModeKeepsConnection(t, ln.Addr()) })
	t.Run("ping", func(t *testing.T) {
		p := greeted(t, ln.Addr())
		p.write(frame(&channel.Envelope{Type: channel.TypePing, ID: 77}))
		e, err := p.readFrame()
		if err != nil || e.Type != channel.TypePong || e.ID != 77 {
			t.Fatalf("got %+v, %v", e, err)
		}
	})
	t.Run("stall mid-frame", func(t *testing.T) { stallMidFrame(t, ln.Addr(), good) })
	t.Run("close mid-frame", func(t *testing.T) {
		p := greeted(t, ln.Addr())
		f := frame(&channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, ID: 1, Data: make([]byte, 1000)})
		p.write(f[:500])
		p.nc.Close()
		checkCall(t, good)
	})
	t.Run("declared size is not allocated", func(t *testing.T) { declaredSizeNotAllocated(t, ln.Addr(), good) })
	good.Close()
	ln.Close()
}

// badModeKeepsConnection: a request without a valid mode gets an error frame, and the
// connection goes on serving.
func badModeKeepsConnection(t *testing.T, addr string) {
	p := greeted(t, addr)
	p.write(frame(&channel.Envelope{Type: channel.TypeRequest, ID: 1, Method: "m"}))
	e, err := p.readFrame()
	if err != nil || e.Type != channel.TypeError || e.ErrCode != channel.CodeInvalidArgument || e.ID != 1 {
		t.Fatalf("got %+v, %v", e, err)
	}
	p.write(frame(&channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, ID: 2, Data: []byte("x")}))
	e, err = p.readFrame()
	if err != nil || e.Type != channel.TypeResponse || e.ID != 2 || string(e.Data) != "x" {
		t.Fatalf("after a refused request: %+v, %v", e, err)
	}
}

// stallMidFrame: a valid prefix, then silence: the keep-alive ping goes unanswered and
// the server drops the connection; meanwhile it keeps serving others (good).
func stallMidFrame(t *testing.T, addr string, good channel.Conn) {
	p := greeted(t, addr)
	f := frame(&channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, ID: 1, Data: make([]byte, 1000)})
	p.write(f[:100])
	checkCall(t, good)
	p.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		e, err := p.readFrame()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("server kept a stalled connection open past its keep-alive")
			}
			break
		}
		if e.Type != channel.TypePing {
			t.Fatalf("unexpected %s", e.Type)
		}
	}
}

// declaredSizeNotAllocated: 32 peers each declare a 4 MiB frame and send 10 bytes of
// it. Memory must follow what arrived, not what was declared (32 x 4 MiB = 128 MiB).
func declaredSizeNotAllocated(t *testing.T, addr string, good channel.Conn) {
	const peers = 32
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	ps := make([]*rawPeer, peers)
	for i := range ps {
		ps[i] = greeted(t, addr)
		hdr := binary.BigEndian.AppendUint32(nil, 4<<20)
		ps[i].write(append(hdr, 1, byte(channel.TypeRequest), 3, 1, 0, 0, 0, 0, 0, 0))
	}
	checkCall(t, good) // every peer's bytes were written before this call's
	runtime.ReadMemStats(&ms1)
	grew := int64(ms1.HeapAlloc) - int64(ms0.HeapAlloc)
	if grew > 16<<20 {
		t.Fatalf("heap grew %d bytes for %d peers that sent 14 bytes of frames each", grew, peers)
	}
	for _, p := range ps {
		p.nc.Close()
	}
}

func TestSlowReaderIsDisconnected(t *testing.T) {
	channeltest.CheckLeaks(t)
	cfg := channel.Config{MaxMessage: 64 << 10, MaxPendingBytes: 128 << 10}
	var sendErr atomic.Value
	failed := make(chan struct{})
	var once atomic.Bool
	big := make([]byte, 60<<10)
	ln, err := framed.TCP().Listen(context.Background(), "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() {
		served <- ln.Serve(channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
			if err := w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Data: big}); err != nil && once.CompareAndSwap(false, true) {
				sendErr.Store(err)
				close(failed)
			}
		}))
	}()
	p := greeted(t, ln.Addr())
	// Ask for far more than the socket buffers and MaxPendingBytes hold; never read.
	go func() {
		for id := uint64(1); id <= 2000; id++ {
			p.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := p.nc.Write(frame(&channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, ID: id})); err != nil {
				return
			}
		}
	}()
	select {
	case <-failed:
	case <-time.After(10 * time.Second):
		t.Fatal("the server kept queueing for a peer that does not read")
	}
	if err := sendErr.Load().(error); !errors.Is(err, channel.ErrClosed) {
		t.Fatalf("Send to a dropped slow reader: %v, want ErrClosed", err)
	}
	p.nc.Close()
	ln.Close()
	<-served
}

func TestRedialAfterServerRestart(t *testing.T) {
	channeltest.CheckLeaks(t)
	path := filepath.Join(t.TempDir(), "r.sock")
	start := func() (channel.Listener, chan error) {
		ln, err := framed.Unix().Listen(context.Background(), path, channel.Config{})
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- ln.Serve(benchEcho) }()
		return ln, served
	}
	ln, served := start()
	c, err := framed.Unix().Dial(context.Background(), path, channel.Config{PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkCall(t, c)
	ln.Close()
	<-served
	ln, served = start()
	// The first use after the restart may still see the old connection fail; the
	// broken connection is then replaced on the next use.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := 0; ; i++ {
		x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Data: []byte("ok")})
		if err == nil {
			var r *channel.Envelope
			r, err = x.Recv(ctx)
			ok := err == nil && string(r.Data) == "ok"
			if err == nil && !ok {
				t.Fatalf("call %d after restart: got %s %q %q", i, r.Type, r.ErrCode, r.Data)
			}
			x.Close()
			if ok {
				break
			}
		}
		if !errors.Is(err, channel.ErrClosed) || i > 3 {
			t.Fatalf("call %d after restart: %v", i, err)
		}
	}
	c.Close()
	ln.Close()
	<-served
}

func TestListenUnixPathInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "u.sock")
	ln, err := framed.Unix().Listen(context.Background(), path, channel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ln.Addr() != path {
		t.Fatalf("Addr = %q, want %q", ln.Addr(), path)
	}
	if _, err := framed.Unix().Listen(context.Background(), path, channel.Config{}); err == nil {
		t.Fatal("second Listen on the same path succeeded")
	}
}

func TestConfigValidated(t *testing.T) {
	_, err := framed.TCP().Dial(context.Background(), "127.0.0.1:1", channel.Config{MaxMessage: 10})
	if err == nil {
		t.Fatal("Dial accepted MaxMessage 10")
	}
	_, err = framed.TCP().Listen(context.Background(), "127.0.0.1:0", channel.Config{StreamWindow: -1})
	if err == nil {
		t.Fatal("Listen accepted StreamWindow -1")
	}
}

func TestDialFailure(t *testing.T) {
	c, err := framed.Unix().Dial(context.Background(), filepath.Join(t.TempDir(), "none.sock"), channel.Config{})
	if err != nil {
		t.Fatal(err) // lazily connected
	}
	defer c.Close()
	_, err = c.Open(context.Background(), &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse})
	if err == nil {
		t.Fatal("Open to a missing socket succeeded")
	}
}

// TestProtocolExample sends the exact bytes of PROTOCOL.md §2.10 and expects the exact reply.
func TestProtocolExample(t *testing.T) {
	ln, err := framed.TCP().Listen(context.Background(), "127.0.0.1:0", channel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() {
		served <- ln.Serve(channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
			w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Data: []byte(`{"ok":true}`)})
		}))
	}()
	defer func() { ln.Close(); <-served }()
	p := dialRaw(t, ln.Addr(), []byte{0x4A, 0x53, 0x55, 0x53, 0x01, 0x00})
	p.readPreface()
	p.write([]byte("\x00\x00\x00\x19\x01\x01\x03\x01\x01\x0Aorders.get\x00{\"id\":7}"))
	want := "\x00\x00\x00\x10\x01\x02\x03\x01\x00{\"ok\":true}"
	got := make([]byte, len(want))
	p.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(p.br, got); err != nil || string(got) != want {
		t.Fatalf("got % X, %v\nwant % X", got, err, want)
	}
}

func TestUnixPathTooLong(t *testing.T) {
	long := "/tmp/" + strings.Repeat("x", 120) + ".sock"
	_, err := framed.Unix().Listen(context.Background(), long, channel.Config{})
	if err == nil || !strings.Contains(err.Error(), "exceeds the limit of 107 bytes") {
		t.Fatalf("Listen on a %d-byte path: %v", len(long), err)
	}
	if _, err := framed.TCP().Dial(context.Background(), "", channel.Config{}); err == nil {
		t.Fatal("Dial with an empty address succeeded")
	}
}

// Framing violations are logged on the listener's Logger (there is no caller to tell).
func TestViolationIsLogged(t *testing.T) {
	var buf channeltest.SyncBuffer
	cfg := channel.Config{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	ln := startEcho(t, cfg)
	p := greeted(t, ln.Addr())
	p.write([]byte{0xff, 0xff, 0xff, 0xff})
	p.expectErrorThenClose(0)
	ln.Close()
	if !strings.Contains(buf.String(), "framing violation") || !strings.Contains(buf.String(), "MaxMessage") {
		t.Fatalf("log: %q", buf.String())
	}
}
