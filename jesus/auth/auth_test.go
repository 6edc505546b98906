package auth_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/tlsconf"
	"github.com/jesus-go/jesus/channel/tlsconf/tlstest"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/auth"
)

const domain = "example.org"

func tlsFor(t *testing.T, ca *tlstest.CA, leaf tlstest.Leaf) channel.Config {
	t.Helper()
	p, err := ca.WriteFiles(t.TempDir(), leaf)
	if err != nil {
		t.Fatal(err)
	}
	src, err := tlsconf.Load(tlsconf.Files{CA: p.CA, Cert: p.Cert, Key: p.Key})
	if err != nil {
		t.Fatal(err)
	}
	return channel.Config{TLS: src.Config()}
}

// ledger is a server of service "ledger" whose "post" may be called by orders only and
// whose "read" and "tail" by anyone verified.
type ledger struct {
	bound channel.Spec
	ran   atomic.Int64
}

func startLedger(t *testing.T, cfg channel.Config, spec string, ac auth.Config) *ledger {
	t.Helper()
	l := &ledger{}
	s := jesus.NewServer("ledger", jesus.WithChannelConfig(cfg), jesus.WithInterceptors(auth.Interceptor(ac)))
	jesus.Handle(s, "ledger.post", func(ctx context.Context, n int) (int, error) { l.ran.Add(1); return n, nil })
	jesus.Handle(s, "ledger.read", func(ctx context.Context, n int) (string, error) {
		l.ran.Add(1)
		m, _ := jesus.MsgFromContext(ctx)
		return m.Meta.From, nil
	})
	jesus.HandleOneWay(s, "ledger.note", func(ctx context.Context, n int) error { l.ran.Add(1); return nil })
	jesus.HandleStream(s, "ledger.tail", func(ctx context.Context, n int, send func(int) error) error {
		l.ran.Add(1)
		return send(n)
	})
	var err error
	if l.bound, err = s.Listen(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return l
}

func client(t *testing.T, name string, cfg channel.Config, target channel.Spec) *jesus.Client {
	c := jesus.NewClient(name, jesus.WithChannelConfig(cfg), jesus.WithTarget(target.String()))
	t.Cleanup(func() { c.Close() })
	return c
}

func ctx(t *testing.T) context.Context { return channeltest.Context(t, 10*time.Second) }

func TestVerifiedCallers(t *testing.T) {
	channeltest.CheckLeaks(t)
	ca := tlstest.NewCA("mesh")
	srvCfg := tlsFor(t, ca, tlstest.Localhost("ledger", domain))
	ac := auth.Config{TrustDomain: domain, Allow: map[string][]string{"ledger.post": {"orders"}}}
	for _, spec := range []string{"tcp+msgpack://127.0.0.1:0", "http+json://127.0.0.1:0"} {
		l := startLedger(t, srvCfg, spec, ac)
		if !l.bound.TLS {
			t.Fatalf("bound spec %s does not say TLS", l.bound)
		}
		orders := client(t, "orders", tlsFor(t, ca, tlstest.Localhost("orders", domain)), l.bound)
		billing := client(t, "billing@1.2.0", tlsFor(t, ca, tlstest.Localhost("billing", domain)), l.bound)
		liar := client(t, "orders", tlsFor(t, ca, tlstest.Localhost("billing", domain)), l.bound)
		nameless := client(t, "orders", tlsFor(t, ca, tlstest.Leaf{Name: "x", IPs: []string{"127.0.0.1"}}), l.bound)

		if n, err := jesus.Call[int, int](ctx(t), orders, "ledger.post", 7); err != nil || n != 7 {
			t.Fatalf("%s: orders posts: %d, %v", spec, n, err)
		}
		if from, err := jesus.Call[int, string](ctx(t), billing, "ledger.read", 1); err != nil || from != "billing@1.2.0" {
			t.Fatalf("%s: billing reads: %q, %v", spec, from, err)
		}
		before := l.ran.Load()
		refusals := []struct {
			name string
			call func() error
			code jesus.Code
		}{
			{"caller not in allow", func() error { _, err := jesus.Call[int, int](ctx(t), billing, "ledger.post", 1); return err }, jesus.CodePermissionDenied},
			{"From does not match the SAN", func() error { _, err := jesus.Call[int, string](ctx(t), liar, "ledger.read", 1); return err }, jesus.CodeUnauthenticated},
			{"certificate names no service", func() error { _, err := jesus.Call[int, string](ctx(t), nameless, "ledger.read", 1); return err }, jesus.CodeUnauthenticated},
			{"stream from a liar", func() error {
				for _, err := range jesus.Stream[int, int](ctx(t), liar, "ledger.tail", 1) {
					if err != nil {
						return err
					}
				}
				return nil
			}, jesus.CodeUnauthenticated},
		}
		for _, r := range refusals {
			err := r.call()
			if jesus.CodeOf(err) != r.code {
				t.Fatalf("%s: %s: got %v, want code %s", spec, r.name, err, r.code)
			}
			t.Logf("%s: %s: %v", spec, r.name, err)
		}
		if n := l.ran.Load() - before; n != 0 {
			t.Fatalf("%s: handlers ran %d times for refused calls", spec, n)
		}
	}
}

func TestPlaintext(t *testing.T) {
	channeltest.CheckLeaks(t)
	ca := tlstest.NewCA("mesh")
	// A TLS channel: a client without TLS sends nothing.
	l := startLedger(t, tlsFor(t, ca, tlstest.Localhost("ledger", domain)), "tcp+msgpack://127.0.0.1:0", auth.Config{TrustDomain: domain})
	plain := client(t, "orders", channel.Config{}, l.bound)
	_, err := jesus.Call[int, string](ctx(t), plain, "ledger.read", 1)
	if jesus.CodeOf(err) != jesus.CodeFailedPrecondition {
		t.Fatalf("plaintext to a TLS channel: %v", err)
	}
	t.Log(err)
	// A plaintext server that verifies callers refuses everyone.
	p := startLedger(t, channel.Config{}, "tcp+msgpack://127.0.0.1:0", auth.Config{TrustDomain: domain})
	_, err = jesus.Call[int, string](ctx(t), client(t, "orders", channel.Config{}, p.bound), "ledger.read", 1)
	if jesus.CodeOf(err) != jesus.CodeUnauthenticated {
		t.Fatalf("plaintext caller: %v", err)
	}
	t.Log(err)
	// Plaintext allowed: through, but not to a method with an allow list.
	q := startLedger(t, channel.Config{}, "tcp+msgpack://127.0.0.1:0", auth.Config{Plaintext: true, Allow: map[string][]string{"ledger.post": {"orders"}}})
	qc := client(t, "orders", channel.Config{}, q.bound)
	if _, err := jesus.Call[int, string](ctx(t), qc, "ledger.read", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := jesus.Call[int, int](ctx(t), qc, "ledger.post", 1); jesus.CodeOf(err) != jesus.CodePermissionDenied {
		t.Fatalf("unverified caller to an allow-listed method: %v", err)
	}
	if p.ran.Load() != 0 || l.ran.Load() != 0 || q.ran.Load() != 1 {
		t.Fatalf("ran: %d %d %d", l.ran.Load(), p.ran.Load(), q.ran.Load())
	}
	// A channel spec that declares TLS cannot be served without a TLS config.
	s := jesus.NewServer("ledger")
	defer s.Close()
	if _, err := s.Listen(ctx(t), "tcp+tls+msgpack://127.0.0.1:0"); jesus.CodeOf(err) != jesus.CodeFailedPrecondition {
		t.Fatalf("TLS spec without config: %v", err)
	}
}

func TestServiceOfDNS(t *testing.T) {
	ca := tlstest.NewCA("mesh")
	c := ca.Pair(tlstest.Leaf{Name: "x", DNS: []string{"localhost", "orders.svc.example.org"}})
	if s, ok := auth.ServiceOf(c.Leaf, "", ".svc.example.org"); !ok || s != "orders" {
		t.Fatalf("DNS SAN: %q %v", s, ok)
	}
	if _, ok := auth.ServiceOf(c.Leaf, domain, ""); ok {
		t.Fatal("a certificate without a URI SAN named a service")
	}
}

// TestPlaintextDo: Client.Do (events go through it) sends nothing in plaintext to a TLS
// channel either.
func TestPlaintextDo(t *testing.T) {
	channeltest.CheckLeaks(t)
	ca := tlstest.NewCA("mesh")
	for _, spec := range []string{"tcp+msgpack://127.0.0.1:0", "http+json://127.0.0.1:0"} {
		l := startLedger(t, tlsFor(t, ca, tlstest.Localhost("ledger", domain)), spec, auth.Config{TrustDomain: domain})
		c := client(t, "orders", channel.Config{}, l.bound)
		err := c.Do(ctx(t), &jesus.Request{Method: "ledger.post", Mode: jesus.ModeAck, Route: jesus.NewRoute(l.bound, ""), Codec: l.bound.Codec, Data: []byte{1}})
		if jesus.CodeOf(err) != jesus.CodeFailedPrecondition {
			t.Fatalf("%s: Do in plaintext to a TLS channel: %v", spec, err)
		}
	}
}

// TestRefusedAckIsNotAcked: the verifier refuses before the server acks, so a caller
// outside a one-way method's allow list gets permission_denied, not an ack.
func TestRefusedAckIsNotAcked(t *testing.T) {
	channeltest.CheckLeaks(t)
	q := startLedger(t, channel.Config{}, "tcp+msgpack://127.0.0.1:0", auth.Config{Plaintext: true, Allow: map[string][]string{"ledger.note": {"billing"}}})
	qc := client(t, "orders", channel.Config{}, q.bound)
	if err := jesus.Ack(ctx(t), qc, "ledger.note", 1); jesus.CodeOf(err) != jesus.CodePermissionDenied {
		t.Fatalf("ack from a caller not allowed: %v", err)
	}
	if q.ran.Load() != 0 {
		t.Fatal("the refused ack ran")
	}
}
