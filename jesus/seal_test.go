package jesus_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/framed"
	"github.com/jesus-go/jesus/codec"
	"github.com/jesus-go/jesus/codec/seal"
	"github.com/jesus-go/jesus/jesus"
)

type sealedLedger struct {
	bound  channel.Spec
	opener *seal.Opener
	ran    atomic.Int64
}

func startSealed(t *testing.T, spec string) *sealedLedger {
	t.Helper()
	priv, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	l := &sealedLedger{}
	l.opener, _ = seal.NewOpener(priv)
	s := jesus.NewServer("ledger", jesus.WithOpener(l.opener))
	jesus.Handle(s, "ledger.post", func(ctx context.Context, amount int) (int, error) {
		l.ran.Add(1)
		return amount * 2, nil
	})
	jesus.HandleStream(s, "ledger.tail", func(ctx context.Context, n int, send func(int) error) error {
		l.ran.Add(1)
		for i := 0; i < n; i++ {
			if err := send(i); err != nil {
				return err
			}
		}
		return nil
	})
	jesus.HandleOneWay(s, "ledger.note", func(ctx context.Context, v int) error { l.ran.Add(1); return nil })
	if l.bound, err = s.Listen(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return l
}

func sealCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSealedCalls(t *testing.T) {
	leakCheck(t)
	for _, spec := range []string{"tcp+msgpack+zstd+seal://127.0.0.1:0", "http+json+seal://127.0.0.1:0"} {
		l := startSealed(t, spec)
		c := jesus.NewClient("orders", jesus.WithTarget(l.bound.String()), jesus.WithSealKeys(jesus.SealTo(l.opener.PublicKey())))
		defer c.Close()
		for i := 1; i <= 3; i++ {
			if n, err := jesus.Call[int, int](sealCtx(t), c, "ledger.post", i); err != nil || n != 2*i {
				t.Fatalf("%s: sealed call: %d, %v", spec, n, err)
			}
		}
		got := 0
		for v, err := range jesus.Stream[int, int](sealCtx(t), c, "ledger.tail", 5) {
			if err != nil || v != got {
				t.Fatalf("%s: sealed stream item %d: %d, %v", spec, got, v, err)
			}
			got++
		}
		if got != 5 {
			t.Fatalf("%s: %d items", spec, got)
		}
		data, _ := codec.NewRegistry(codec.DefaultLimits()).Pipeline(l.bound.Codec)
		b, _ := data.Marshal(nil, 1)
		if err := c.Do(sealCtx(t), &jesus.Request{Method: "ledger.note", Mode: jesus.ModeAck, Route: jesus.NewRoute(l.bound, ""), Codec: l.bound.Codec, Data: b}); err != nil {
			t.Fatalf("%s: sealed Do: %v", spec, err)
		}
		other, _ := seal.GenerateKey()
		wrong := jesus.NewClient("orders", jesus.WithTarget(l.bound.String()), jesus.WithSealKeys(jesus.SealTo(other.PublicKey())))
		defer wrong.Close()
		_, err := jesus.Call[int, int](sealCtx(t), wrong, "ledger.post", 1)
		if jesus.CodeOf(err) != jesus.CodeUnauthenticated {
			t.Fatalf("%s: sealed to the wrong key: %v", spec, err)
		}
		t.Logf("wrong key: %v", err)
		keyless := jesus.NewClient("orders", jesus.WithTarget(l.bound.String()))
		defer keyless.Close()
		if _, err := jesus.Call[int, int](sealCtx(t), keyless, "ledger.post", 1); jesus.CodeOf(err) != jesus.CodeFailedPrecondition {
			t.Fatalf("%s: no keys: %v", spec, err)
		}
		// The note's handler runs after its ack: wait for it, then count.
		channeltest.Eventually(t, 10*time.Second, "the sealed calls' handlers", func() bool { return l.ran.Load() >= 5 })
		if n := l.ran.Load(); n != 5 {
			t.Fatalf("%s: handlers ran %d times, want 5", spec, n)
		}
	}
	s := jesus.NewServer("ledger")
	defer s.Close()
	if _, err := s.Listen(sealCtx(t), "tcp+msgpack+seal://127.0.0.1:0"); jesus.CodeOf(err) != jesus.CodeFailedPrecondition {
		t.Fatalf("sealed channel without an opener: %v", err)
	}
}

// TestSealedRefusals sends sealed requests by hand, as PROTOCOL.md §13.3 describes them:
// a flipped bit, a replay, another caller than the one sealed for, and plaintext are
// refused with their codes, and the handler runs only for the one good request.
func TestSealedRefusals(t *testing.T) {
	leakCheck(t)
	l := startSealed(t, "tcp+msgpack+seal://127.0.0.1:0")
	cn, err := framed.TCP().Dial(sealCtx(t), l.bound.Addr, channel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	pl, _ := codec.NewRegistry(codec.DefaultLimits()).Pipeline("msgpack")
	plain, _ := pl.Marshal(nil, 21)
	sealer, _ := seal.NewSealer(l.opener.PublicKey())
	sealFor := func(from string) []byte {
		b, err := sealer.Seal(nil, plain, []byte("ledger.post\x00"+from))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var lastReply []byte
	send := func(from string, data []byte) (code, msg string) {
		ex, err := cn.Open(sealCtx(t), &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse,
			Method: "ledger.post", Codec: "msgpack", Meta: channel.Meta{From: from}, Data: data})
		if err != nil {
			t.Fatal(err)
		}
		defer ex.Close()
		r, err := ex.Recv(sealCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if r.Type != channel.TypeError {
			lastReply = append([]byte(nil), r.Data...)
			return "ok", ""
		}
		return r.ErrCode, r.ErrMessage
	}
	good, goodReply, err := sealer.SealRequest(nil, plain, []byte("ledger.post\x00orders"))
	if err != nil {
		t.Fatal(err)
	}
	flipped := sealFor("orders")
	flipped[len(flipped)-20] ^= 0x08
	for _, c := range []struct {
		name, from string
		data       []byte
		code, says string
	}{
		{"flipped bit", "orders", flipped, "unauthenticated", "cannot open"},
		{"sealed for another caller", "billing", sealFor("orders"), "unauthenticated", "cannot open"},
		{"plaintext", "orders", plain, "invalid_argument", "not sealed"},
		{"good", "orders", good, "ok", ""},
		{"replay", "orders", good, "unauthenticated", "replayed"},
	} {
		code, msg := send(c.from, c.data)
		if code != c.code || !strings.Contains(msg, c.says) {
			t.Fatalf("%s: got %s %q, want %s %q", c.name, code, msg, c.code, c.says)
		}
		t.Logf("%s: %s %s", c.name, code, msg)
	}
	if n := l.ran.Load(); n != 1 {
		t.Fatalf("handler ran %d times, want 1", n)
	}
	// The response went back sealed, for this request's sender alone.
	var n int
	if err := pl.Unmarshal(lastReply, &n); err == nil && n == 42 {
		t.Fatal("the response travelled in the clear")
	}
	opened, err := goodReply.OpenWith(nil, lastReply, []byte{0, 0, 0, 0}) // data reply number 0
	if err != nil {
		t.Fatalf("open the sealed response: %v", err)
	}
	if err := pl.Unmarshal(opened, &n); err != nil || n != 42 {
		t.Fatalf("sealed response: %d, %v", n, err)
	}
}

// TestSealedUDP: ack and noResponse over a sealed udp channel; retransmissions of the
// same sealed datagram are the transport's duplicates, not replays the handler sees.
func TestSealedUDP(t *testing.T) {
	leakCheck(t)
	l := startSealed(t, "udp+msgpack+seal://127.0.0.1:0")
	c := jesus.NewClient("orders", jesus.WithTarget(l.bound.String()), jesus.WithSealKeys(jesus.SealTo(l.opener.PublicKey())))
	defer c.Close()
	for i := 0; i < 5; i++ {
		if err := jesus.Ack(sealCtx(t), c, "ledger.note", i); err != nil {
			t.Fatalf("sealed ack over udp: %v", err)
		}
	}
	waitFor(t, "five notes", func() bool { return l.ran.Load() == 5 })
}
