package tlsconf_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/tlsconf"
	"github.com/jesus-go/jesus/channel/tlsconf/tlstest"
)

// writeAtomic replaces path by data through a rename, as a rotation tool does.
func writeAtomic(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// party is one end's files and Source; CheckEvery is negative, so the test says when a
// reload happens (Reload) and every stage is exact.
type party struct {
	name  string
	paths tlstest.Paths
	src   *tlsconf.Source
}

func newParty(t *testing.T, ca *tlstest.CA, name string) *party {
	t.Helper()
	p, err := ca.WriteFiles(t.TempDir(), tlstest.Localhost(name, ""))
	if err != nil {
		t.Fatal(err)
	}
	src, err := tlsconf.Load(tlsconf.Files{CA: p.CA, Cert: p.Cert, Key: p.Key, CheckEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	return &party{name: name, paths: p, src: src}
}

func (p *party) trust(t *testing.T, cas ...*tlstest.CA) {
	t.Helper()
	var b bytes.Buffer
	for _, ca := range cas {
		b.Write(ca.PEM)
	}
	writeAtomic(t, p.paths.CA, b.Bytes())
}

func (p *party) issue(t *testing.T, ca *tlstest.CA) {
	t.Helper()
	c, k := ca.Issue(tlstest.Localhost(p.name, ""))
	writeAtomic(t, p.paths.Key, k)
	writeAtomic(t, p.paths.Cert, c)
}

func (p *party) reload(t *testing.T) {
	t.Helper()
	if err := p.src.Reload(); err != nil {
		t.Fatal(err)
	}
}

// issuerServer answers with the issuer of the caller's certificate.
func issuerServer(t *testing.T, tr channel.Transport, addr string, cfg channel.Config) channel.Listener {
	t.Helper()
	ln, err := tr.Listen(context.Background(), addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ln.Serve(channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
			out := "none"
			if cs := channel.PeerTLS(ctx); cs != nil && len(cs.PeerCertificates) > 0 {
				out = cs.PeerCertificates[0].Issuer.CommonName
			}
			w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Data: []byte(out)})
		}))
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln
}

// testCARotation replaces the CA of both ends while callers keep calling over a live
// connection and over new ones, all dialled with one client config made before the
// rotation: no call fails, new handshakes chain to the new CA on both sides, and the old
// CA is refused afterwards, by the server and by the client.
func testCARotation(t *testing.T, tn string) {
	channeltest.CheckLeaks(t)
	tc := transports()[tn]
	oldCA, newCA := tlstest.NewCA("old ca"), tlstest.NewCA("new ca")
	srv, cli := newParty(t, oldCA, "server"), newParty(t, oldCA, "client")
	ln := issuerServer(t, tc.tr, tc.addr(t), channel.Config{TLS: srv.src.Config()})
	cliCfg := channel.Config{TLS: cli.src.Config()} // one config for the whole test
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	live, err := tc.tr.Dial(ctx, ln.Addr(), channel.Config{TLS: cliCfg.TLS, PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if got, err := call(ctx, live); err != nil || got != "old ca" {
		t.Fatalf("before rotation: %q, %v", got, err)
	}

	// Callers: half over the live connection, half each over a new connection (a new
	// handshake against whatever is current). fresh counts completed new connections.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var calls, fresh atomic.Int64
	errs := make(chan error, 16)
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func(dial bool) {
			defer wg.Done()
			rotationCaller(ctx, tc.tr, ln.Addr(), cliCfg, live, dial, stop, errs, &calls, &fresh)
		}(i%2 == 0)
	}
	// Each stage waits for new handshakes under it before the next one.
	settle := func(stage string) {
		t.Helper()
		n := fresh.Load()
		channeltest.Eventually(t, 20*time.Second, "new connections after "+stage, func() bool {
			select {
			case err := <-errs:
				t.Fatalf("%s: a call failed: %v", stage, err)
			default:
			}
			return fresh.Load() >= n+5
		})
	}
	rotate(t, srv, cli, oldCA, newCA, settle)
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatalf("a call failed: %v", err)
	default:
	}

	// A new handshake chains to the new CA both ways; the live connection is still up.
	if got, err := callOnce(t, tc.tr, ln.Addr(), cliCfg); err != nil || got != "new ca" {
		t.Fatalf("after rotation: %q, %v (want the client's certificate from the new ca)", got, err)
	}
	if got, err := call(ctx, live); err != nil {
		t.Fatalf("live connection after rotation: %q, %v", got, err)
	}
	t.Logf("%d calls, %d of them on new connections, through the CA rotation; none failed", calls.Load(), fresh.Load())

	checkOldCARefused(t, tc.tr, tc.addr, ln.Addr(), oldCA, cliCfg)
}

// rotate runs the rotation from oldCA to newCA as an operator does: trust both CAs, then
// present certificates of the new one, then trust the new one alone. Each end reloads on
// its own; settle waits after each step.
func rotate(t *testing.T, srv, cli *party, oldCA, newCA *tlstest.CA, settle func(step string)) {
	t.Helper()
	for _, p := range []*party{srv, cli} {
		p.trust(t, oldCA, newCA)
		p.reload(t)
	}
	settle("trusting both CAs")
	for _, step := range []struct {
		p     *party
		issue bool // present a certificate of the new CA; else trust the new CA alone
		what  string
	}{
		{srv, true, "a server certificate of the new CA"},
		{cli, true, "a client certificate of the new CA"},
		{cli, false, "the client trusting the new CA alone"},
		{srv, false, "the server trusting the new CA alone"},
	} {
		if step.issue {
			step.p.issue(t, newCA)
		} else {
			step.p.trust(t, newCA)
		}
		step.p.reload(t)
		settle(step.what)
	}
}

// rotationCaller calls until stop, over live or (dial) each time over a new connection;
// it reports the first failure on errs and counts calls, and new connections in fresh.
func rotationCaller(ctx context.Context, tr channel.Transport, addr string, cfg channel.Config, live channel.Conn, dial bool,
	stop chan struct{}, errs chan error, calls, fresh *atomic.Int64) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		cn := live
		if dial {
			var err error
			if cn, err = tr.Dial(ctx, addr, cfg); err != nil {
				errs <- err
				return
			}
		}
		_, err := call(ctx, cn)
		if dial {
			cn.Close()
		}
		if err != nil {
			errs <- err
			return
		}
		calls.Add(1)
		if dial {
			fresh.Add(1)
		}
	}
}

// checkOldCARefused: after the rotation, a client of the old CA is refused by the server
// at addr, and a server of the old CA by a client with cliCfg.
func checkOldCARefused(t *testing.T, tr channel.Transport, newAddr func(testing.TB) string, addr string, oldCA *tlstest.CA, cliCfg channel.Config) {
	t.Helper()
	stale := newParty(t, oldCA, "client")
	if _, err := callOnce(t, tr, addr, channel.Config{TLS: stale.src.Config()}); err == nil {
		t.Fatal("a client with a certificate of the old CA was served after the rotation")
	}
	staleSrv := newParty(t, oldCA, "server")
	old := issuerServer(t, tr, newAddr(t), channel.Config{TLS: staleSrv.src.Config()})
	_, err := callOnce(t, tr, old.Addr(), cliCfg)
	var uae x509.UnknownAuthorityError
	if !errors.As(err, &uae) {
		t.Fatalf("a server with a certificate of the old CA: %v (want unknown authority)", err)
	}
}

// TestVerifyAsStrictAsCryptoTLS: the dialer's own verification (against the current
// pool) accepts and refuses exactly the servers crypto/tls refuses with RootCAs, for
// names and IPs right and wrong, an expired certificate and another CA.
func TestVerifyAsStrictAsCryptoTLS(t *testing.T) {
	ca, other := tlstest.NewCA("ca"), tlstest.NewCA("other")
	cli := newParty(t, ca, "client")
	past := time.Now().Add(-72 * time.Hour)
	leaves := map[string]struct {
		ca   *tlstest.CA
		leaf tlstest.Leaf
	}{
		"localhost":      {ca, tlstest.Localhost("server", "")},
		"name only":      {ca, tlstest.Leaf{Name: "server", DNS: []string{"svc.example.org"}}},
		"wildcard":       {ca, tlstest.Leaf{Name: "server", DNS: []string{"*.example.org"}}},
		"other IP":       {ca, tlstest.Leaf{Name: "server", IPs: []string{"127.0.0.2"}}},
		"CN only":        {ca, tlstest.Leaf{Name: "127.0.0.1"}},
		"expired":        {ca, tlstest.Leaf{Name: "server", IPs: []string{"127.0.0.1"}, DNS: []string{"localhost"}, NotBefore: past, NotAfter: past.Add(time.Hour)}},
		"another CA":     {other, tlstest.Localhost("server", "")},
		"other CA by IP": {other, tlstest.Leaf{Name: "server", IPs: []string{"127.0.0.1"}}},
	}
	names := []string{"127.0.0.1", "::1", "localhost", "svc.example.org", "a.example.org", "a.b.example.org", "example.org", "127.0.0.2"}
	for ln, l := range leaves {
		pair := l.ca.Pair(l.leaf)
		for _, name := range names {
			std := handshakeErr(t, &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: ca.Pool(), ServerName: name}, pair)
			ours := handshakeErr(t, channel.ClientTLS(cli.src.Config(), name), pair)
			if (std == nil) != (ours == nil) {
				t.Errorf("%s dialled as %s: crypto/tls %v, tlsconf %v", ln, name, std, ours)
			}
		}
	}
	// Without a name to check, the dialer refuses instead of skipping the check.
	if err := handshakeErr(t, cli.src.Config(), ca.Pair(tlstest.Localhost("server", ""))); err == nil {
		t.Fatal("a handshake without a server name was accepted")
	}
}

// handshakeErr runs a TLS handshake over loopback between a server presenting pair and a
// client with cfg, and returns the client's error.
func handshakeErr(t *testing.T, cfg *tls.Config, pair tls.Certificate) error {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := l.Accept()
		if err != nil {
			return
		}
		s := tls.Server(nc, &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{pair}})
		_ = s.Handshake()
		nc.Close()
	}()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := tls.Client(nc, cfg)
	err = c.Handshake()
	nc.Close()
	<-done
	return err
}
