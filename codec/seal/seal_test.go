package seal_test

import (
	"bytes"
	"crypto/ecdh"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/codec/seal"
)

func pair(t testing.TB) (*seal.Sealer, *seal.Opener) {
	t.Helper()
	priv, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	o, err := seal.NewOpener(priv)
	if err != nil {
		t.Fatal(err)
	}
	s, err := seal.NewSealer(o.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return s, o
}

var aad = []byte("ledger.post\x00orders")

func TestRoundTrip(t *testing.T) {
	s, o := pair(t)
	for _, n := range []int{0, 1, 100, 64 << 10} {
		msg := bytes.Repeat([]byte{byte(n)}, n)
		sealed, err := s.Seal(nil, msg, aad)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != n+seal.Overhead {
			t.Fatalf("sealed %d bytes to %d, want overhead %d", n, len(sealed), seal.Overhead)
		}
		if n > 16 && bytes.Contains(sealed, msg[:16]) {
			t.Fatal("plaintext visible in the sealed payload")
		}
		got, err := o.Open(nil, sealed, aad)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("open %d bytes: %v", n, err)
		}
	}
}

func TestRefusals(t *testing.T) {
	s, o := pair(t)
	_, other := pair(t)
	sealed, _ := s.Seal(nil, []byte("the payload"), aad)

	if _, err := other.Open(nil, sealed, aad); !errors.Is(err, seal.ErrOpen) {
		t.Errorf("wrong key: %v", err)
	}
	if _, err := o.Open(nil, sealed, []byte("ledger.post\x00billing")); !errors.Is(err, seal.ErrOpen) {
		t.Errorf("other associated data: %v", err)
	}
	for i := 0; i < len(sealed)*8; i++ { // every bit of header, ciphertext and tag
		b := bytes.Clone(sealed)
		b[i/8] ^= 1 << (i % 8)
		if _, err := o.Open(nil, b, aad); err == nil {
			t.Fatalf("bit %d flipped and the payload still opened", i)
		}
	}
	if _, err := o.Open(nil, sealed[:seal.Overhead-1], aad); !errors.Is(err, seal.ErrMalformed) {
		t.Errorf("short: %v", err)
	}
	// The real payload still opens after all those forgeries, once.
	if _, err := o.Open(nil, sealed, aad); err != nil {
		t.Fatalf("first open: %v", err)
	}
	if _, err := o.Open(nil, sealed, aad); !errors.Is(err, seal.ErrReplay) {
		t.Errorf("replay: %v", err)
	}
}

func TestReplayWindow(t *testing.T) {
	s, o := pair(t)
	o.Window = 50 * time.Millisecond
	sealed, _ := s.Seal(nil, []byte("x"), aad)
	if _, err := o.Open(nil, sealed, aad); err != nil {
		t.Fatal(err)
	}
	// The payload leaves the window (a wait for the clock itself): now stale, still never
	// opened twice.
	channeltest.EventuallyState(t, 5*time.Second, "the replayed payload to be stale", func() (bool, string) {
		_, err := o.Open(nil, sealed, aad)
		if !errors.Is(err, seal.ErrStale) && !errors.Is(err, seal.ErrReplay) {
			t.Fatalf("replay after the window: %v", err)
		}
		return errors.Is(err, seal.ErrStale), fmt.Sprint(err)
	})
}

// TestMaxSeen: a full replay memory forgets the oldest and refuses what it can no longer
// tell from a replay; memory stays bounded.
func TestMaxSeen(t *testing.T) {
	s, o := pair(t)
	o.MaxSeen = 100
	var first []byte
	for i := 0; i < 1000; i++ {
		b, _ := s.Seal(nil, []byte("x"), aad)
		if i == 0 {
			first = b
		}
		if _, err := o.Open(nil, b, aad); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if _, err := o.Open(nil, first, aad); !errors.Is(err, seal.ErrStale) && !errors.Is(err, seal.ErrReplay) {
		t.Fatalf("replay of a forgotten payload: %v", err)
	}
}

func TestConcurrent(t *testing.T) {
	s, o := pair(t)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				b, err := s.Seal(nil, []byte("concurrent"), aad)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := o.Open(nil, b, aad); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestKeys(t *testing.T) {
	priv, _ := seal.GenerateKey()
	pem, err := seal.MarshalKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "seal.key")
	os.WriteFile(p, pem, 0o600)
	got, err := seal.ReadKeyFile(p)
	if err != nil || !got.Equal(priv) {
		t.Fatalf("ReadKeyFile: %v", err)
	}
	pub, err := seal.ParsePublicKey(seal.PublicKeyString(priv.PublicKey()))
	if err != nil || !pub.Equal(priv.PublicKey()) {
		t.Fatalf("public key round trip: %v", err)
	}
	if _, err := seal.ParsePublicKey("short"); err == nil {
		t.Fatal("short key parsed")
	}
	if _, err := seal.NewSealer(nil); err == nil {
		t.Fatal("nil key")
	}
	p256, _ := ecdh.P256().GenerateKey(nil)
	if _, err := seal.NewOpener(p256); err == nil {
		t.Fatal("P-256 key taken")
	}
}

func FuzzOpen(f *testing.F) {
	s, o := pair(f)
	good, _ := s.Seal(nil, []byte("seed"), aad)
	f.Add(good, aad)
	f.Add([]byte{1}, []byte{})
	f.Add(make([]byte, seal.Overhead), []byte("x"))
	f.Fuzz(func(t *testing.T, sealed, ad []byte) {
		out, err := o.Open(nil, sealed, ad)
		if err == nil && len(out) != len(sealed)-seal.Overhead {
			t.Fatalf("opened %d bytes from %d", len(out), len(sealed))
		}
	})
}

func BenchmarkSealOpen(b *testing.B) {
	s, o := pair(b)
	msg := bytes.Repeat([]byte("x"), 256)
	buf := make([]byte, 0, 1024)
	out := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		sealed, _ := s.Seal(buf[:0], msg, aad)
		if _, err := o.Open(out[:0], sealed, aad); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReplies: the receiver seals its reply with what the request agreed; only the
// request's sender opens it, and a reply to another request does not open.
func TestReplies(t *testing.T) {
	s, o := pair(t)
	req1, r1, err := s.SealRequest(nil, []byte("q1"), aad)
	if err != nil {
		t.Fatal(err)
	}
	req2, r2, _ := s.SealRequest(nil, []byte("q2"), aad)
	_, srv1, err := o.OpenRequest(nil, req1, aad)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := o.OpenRequest(nil, req2, aad); err != nil {
		t.Fatal(err)
	}
	clear(req1) // the Replies keep nothing of the caller's buffers
	rep, err := srv1.Seal(nil, []byte("answer"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := r1.Open(nil, rep); err != nil || string(got) != "answer" {
		t.Fatalf("reply: %q, %v", got, err)
	}
	if _, err := r2.Open(nil, rep); !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("reply opened for another request: %v", err)
	}
	rep[len(rep)-1] ^= 1
	if _, err := r1.Open(nil, rep); !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("altered reply: %v", err)
	}
	// A request cannot be passed off as a reply, nor a reply as a request.
	if _, err := r2.Open(nil, req2); !errors.Is(err, seal.ErrOpen) {
		t.Fatalf("request opened as a reply: %v", err)
	}
	rep[len(rep)-1] ^= 1
	if _, err := o.Open(nil, rep, aad); err == nil {
		t.Fatal("reply opened as a request")
	}
}

func FuzzOpenReply(f *testing.F) {
	s, o := pair(f)
	req, _, _ := s.SealRequest(nil, []byte("q"), aad)
	_, r, _ := o.OpenRequest(nil, req, aad)
	good, _ := r.Seal(nil, []byte("seed"))
	f.Add(good)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, sealed []byte) {
		if out, err := r.Open(nil, sealed); err == nil && len(out) != len(sealed)-seal.Overhead {
			t.Fatalf("opened %d bytes from %d", len(out), len(sealed))
		}
	})
}
