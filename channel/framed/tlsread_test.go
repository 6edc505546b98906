package framed

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"testing"

	"github.com/jesus-go/jesus/channel/tlsconf/tlstest"
)

// coalescing is a client-side conn that sends what TLS writes only on flush, so that
// several records reach the server in one segment, as a busy client's do.
type coalescing struct {
	net.Conn
	buf     bytes.Buffer
	holding bool
}

func (c *coalescing) Write(p []byte) (int, error) {
	if c.holding {
		return c.buf.Write(p)
	}
	return c.Conn.Write(p)
}

func (c *coalescing) flush() error {
	c.holding = false
	_, err := c.Conn.Write(c.buf.Bytes())
	c.buf.Reset()
	return err
}

// TestTLSTailSeesWhatWaits: records that arrived in one segment behind the one read are
// seen as waiting (the server must not run a request on its reader then), and once all
// are read the connection is idle.
func TestTLSTailSeesWhatWaits(t *testing.T) {
	ca := tlstest.NewCA("ca")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tl := &tlsListener{Listener: ln, cfg: &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{ca.Pair(tlstest.Localhost("s", ""))}}}
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	cc := &coalescing{Conn: raw}
	client := tls.Client(cc, &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: ca.Pool(), ServerName: "127.0.0.1"})
	sc, err := tl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	done := make(chan error, 1)
	go func() { done <- client.Handshake() }()
	tail := newTLSTail(sc)
	if tail == nil {
		t.Fatal("no tail on a tlsListener connection")
	}
	if err := sc.(*tls.Conn).Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cc.holding = true
	for _, m := range []string{"first", "second", "third"} {
		if _, err := client.Write([]byte(m)); err != nil { // one record each
			t.Fatal(err)
		}
	}
	if err := cc.flush(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	for i, want := range []string{"first", "second", "third"} {
		n, err := tail.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("read %d: %q, %v", i, buf[:n], err)
		}
		if idle := tail.idle(); idle != (i == 2) {
			t.Fatalf("after %q: idle %v", want, idle)
		}
	}
	// A read that fills its buffer may leave plaintext in TLS: not idle.
	if _, err := client.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	if n, err := io.ReadFull(tail, buf[:4]); err != nil || n != 4 || tail.idle() {
		t.Fatalf("partial read: %d, %v, idle %v", n, err, tail.idle())
	}
	if n, err := tail.Read(buf); err != nil || string(buf[:n]) != "456789" || !tail.idle() {
		t.Fatalf("rest: %q, %v, idle %v", buf[:n], err, tail.idle())
	}
}

// FuzzRecordConn: whatever bytes arrive, in whatever pieces read, a recordConn passes
// them on unchanged and in order; it only shortens reads.
func FuzzRecordConn(f *testing.F) {
	f.Add([]byte{23, 3, 3, 0, 3, 'a', 'b', 'c', 23, 3, 3, 0, 1, 'd'}, []byte{1, 7, 64})
	f.Add([]byte{0, 0, 0, 0xff, 0xff, 1, 2}, []byte{3})
	f.Add([]byte{'J', 'E', 'S', 'U', 1, 0, 0, 0}, []byte{0})
	f.Fuzz(func(t *testing.T, in, sizes []byte) {
		c := &recordConn{rb: bufio.NewReaderSize(bytes.NewReader(in), 16)}
		var out []byte
		for i := 0; ; i++ {
			size := 1
			if len(sizes) > 0 {
				size = int(sizes[i%len(sizes)])%64 + 1
			}
			p := make([]byte, size)
			n, err := c.Read(p)
			out = append(out, p[:n]...)
			if err != nil || (n == 0 && i > len(in)+8) {
				break
			}
		}
		// Bytes after a header cut short by the end are not delivered: tls.Conn needs a
		// whole header before anything else, so nothing it could use is held back.
		if !bytes.HasPrefix(in, out) || len(in)-len(out) >= recordHeaderLen {
			t.Fatalf("in %x, out %x", in, out)
		}
	})
}
