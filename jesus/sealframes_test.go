package jesus_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/jesus-go/jesus/codec/seal"
	"github.com/jesus-go/jesus/jesus"
)

// wireProxy forwards loopback TCP connections to target and records every byte both
// ways; flip, when set, may change what goes back to the client before it is recorded.
type wireProxy struct {
	ln     net.Listener
	target string
	flip   func(b []byte)

	mu   sync.Mutex
	wire bytes.Buffer
	wg   sync.WaitGroup
}

func startProxy(t *testing.T, target string, flip func([]byte)) *wireProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &wireProxy{ln: ln, target: target, flip: flip}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *wireProxy) serve() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.wg.Add(2)
		go p.pipe(out, in, nil)
		go p.pipe(in, out, p.flip)
	}
}

// pipe copies from src to dst, recording; flip sees each chunk from the server.
func (p *wireProxy) pipe(dst, src net.Conn, flip func([]byte)) {
	defer p.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if flip != nil {
				flip(buf[:n])
			}
			p.mu.Lock()
			p.wire.Write(buf[:n])
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *wireProxy) recorded() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return bytes.Clone(p.wire.Bytes())
}

const sealSecret = "card 4111-1111-1111-1111"

// startSecretLedger serves a sealed channel whose handlers fail with the secret in the
// message, acknowledge, and stream items to an end.
func startSecretLedger(t *testing.T, spec string) (addr string, pub *seal.Opener, bound string) {
	t.Helper()
	priv, _ := seal.GenerateKey()
	o, _ := seal.NewOpener(priv)
	s := jesus.NewServer("ledger", jesus.WithOpener(o))
	jesus.Handle(s, "post", func(ctx context.Context, amount int) (int, error) {
		return 0, jesus.NewError(jesus.CodeNotFound, "no account for "+sealSecret)
	})
	jesus.HandleOneWay(s, "note", func(ctx context.Context, v int) error { return nil })
	jesus.HandleStream(s, "tail", func(ctx context.Context, n int, send func(int) error) error {
		for i := 0; i < n; i++ {
			if err := send(i); err != nil {
				return err
			}
		}
		return nil
	})
	b, err := s.Listen(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return b.Addr, o, b.String()
}

// viaProxy returns the spec of bound with its address replaced by the proxy's.
func viaProxy(bound, addr, proxy string) string {
	return string(bytes.Replace([]byte(bound), []byte(addr), []byte(proxy), 1))
}

// TestSealedErrorsAcksEnds: over a sealed channel the error a handler returns travels
// sealed (its message, a secret, is nowhere in the bytes on the wire, either way), and
// the caller gets its code and message; acks and stream ends are sealed and accepted;
// a flipped bit in a sealed error is refused as unauthenticated. Over tcp and http.
func TestSealedErrorsAcksEnds(t *testing.T) {
	leakCheck(t)
	for _, spec := range []string{"tcp+msgpack+seal://127.0.0.1:0", "http+json+seal://127.0.0.1:0"} {
		addr, o, bound := startSecretLedger(t, spec)
		px := startProxy(t, addr, nil)
		c := jesus.NewClient("orders", jesus.WithTarget(viaProxy(bound, addr, px.ln.Addr().String())), jesus.WithSealKeys(jesus.SealTo(o.PublicKey())))
		defer c.Close()

		_, err := jesus.Call[int, int](sealCtx(t), c, "ledger.post", 7)
		var je *jesus.Error
		if !errors.As(err, &je) || je.Code != jesus.CodeNotFound || je.Message != "no account for "+sealSecret {
			t.Fatalf("%s: sealed error: %#v (want not_found with the secret message)", spec, err)
		}
		if err := jesus.Ack(sealCtx(t), c, "ledger.note", 1); err != nil {
			t.Fatalf("%s: sealed ack: %v", spec, err)
		}
		n := 0
		for _, err := range jesus.Stream[int, int](sealCtx(t), c, "ledger.tail", 3) {
			if err != nil {
				t.Fatalf("%s: sealed stream: %v", spec, err)
			}
			n++
		}
		if n != 3 {
			t.Fatalf("%s: %d items", spec, n)
		}
		wire := px.recorded()
		if bytes.Contains(wire, []byte("4111")) || bytes.Contains(wire, []byte("no account")) {
			t.Fatalf("%s: the error message is on the wire in the clear", spec)
		}
		if !bytes.Contains(wire, []byte("not_found")) {
			t.Fatalf("%s: the error code should travel in the clear (routing, status)", spec)
		}

		// A bit flipped inside the sealed error on its way back.
		flipped := startProxy(t, addr, func(b []byte) {
			i := bytes.Index(b, []byte("Seal"))
			if i < 0 {
				return
			}
			for j := i + 8; j < len(b); j++ { // a letter inside the base64 value
				if c := b[j] | 0x20; c >= 'a' && c <= 'z' {
					b[j] ^= 0x20 // one bit: the other case, still base64
					return
				}
			}
		})
		fc := jesus.NewClient("orders", jesus.WithTarget(viaProxy(bound, addr, flipped.ln.Addr().String())), jesus.WithSealKeys(jesus.SealTo(o.PublicKey())))
		defer fc.Close()
		_, err = jesus.Call[int, int](sealCtx(t), fc, "ledger.post", 7)
		if !errors.As(err, &je) || je.Code != jesus.CodeUnauthenticated {
			t.Fatalf("%s: flipped sealed error: %v (want unauthenticated)", spec, err)
		}
		t.Logf("%s: flipped: %v", spec, err)
	}
}
