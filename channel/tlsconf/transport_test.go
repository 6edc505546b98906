package tlsconf_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/framed"
	"github.com/jesus-go/jesus/channel/httpchan"
	"github.com/jesus-go/jesus/channel/tlsconf"
	"github.com/jesus-go/jesus/channel/tlsconf/tlstest"
)

// source writes l issued by ca into a new directory and loads it.
func source(t testing.TB, ca *tlstest.CA, l tlstest.Leaf, check time.Duration) (*tlsconf.Source, tlstest.Paths) {
	t.Helper()
	p, err := ca.WriteFiles(t.TempDir(), l)
	if err != nil {
		t.Fatal(err)
	}
	s, err := tlsconf.Load(tlsconf.Files{CA: p.CA, Cert: p.Cert, Key: p.Key, CheckEvery: check})
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

func transports() map[string]struct {
	tr   channel.Transport
	addr func(t testing.TB) string
} {
	return map[string]struct {
		tr   channel.Transport
		addr func(t testing.TB) string
	}{
		"tcp":  {framed.TCP(), channeltest.Loopback},
		"unix": {framed.Unix(), channeltest.UnixSocket},
		"http": {httpchan.New(), channeltest.Loopback},
	}
}

// TestConformanceOverTLS runs the transport suite with mutual TLS on both ends.
func TestConformanceOverTLS(t *testing.T) {
	ca := tlstest.NewCA("test ca")
	src, _ := source(t, ca, tlstest.Localhost("svc", "example.org"), 0)
	for name, tc := range transports() {
		t.Run(name, func(t *testing.T) {
			channeltest.Run(t, channeltest.Factory{Transport: tc.tr, Addr: tc.addr, Config: func(c *channel.Config) { c.TLS = src.Config() }})
		})
	}
}

// served is a listener whose handler records what it ran and answers with the serial of
// the caller's certificate.
type served struct {
	ln  channel.Listener
	ran atomic.Int64
}

func serve(t *testing.T, tr channel.Transport, addr string, cfg channel.Config) *served {
	t.Helper()
	ln, err := tr.Listen(context.Background(), addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &served{ln: ln}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ln.Serve(channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
			s.ran.Add(1)
			out := "plaintext"
			if cs := channel.PeerTLS(ctx); cs != nil && len(cs.PeerCertificates) > 0 {
				out = cs.PeerCertificates[0].SerialNumber.String()
			}
			w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Data: []byte(out)})
		}))
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return s
}

func call(ctx context.Context, cn channel.Conn) (string, error) {
	ex, err := cn.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "s.m", Data: []byte("x")})
	if err != nil {
		return "", err
	}
	defer ex.Close()
	r, err := ex.Recv(ctx)
	if err != nil {
		return "", err
	}
	if r.Type == channel.TypeError {
		return "", fmt.Errorf("%s: %s", r.ErrCode, r.ErrMessage)
	}
	return string(r.Data), nil
}

func callOnce(t *testing.T, tr channel.Transport, addr string, cfg channel.Config) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cn, err := tr.Dial(ctx, addr, cfg)
	if err != nil {
		return "", err
	}
	defer cn.Close()
	return call(ctx, cn)
}

// TestHandshakeRefusals: each case fails the handshake with a clear error and runs
// nothing on the server.
func TestHandshakeRefusals(t *testing.T) {
	ca := tlstest.NewCA("ca")
	other := tlstest.NewCA("other ca")
	srv, srvPaths := source(t, ca, tlstest.Localhost("server", "example.org"), 0)
	past := time.Now().Add(-48 * time.Hour)
	expired := tlstest.Localhost("client", "example.org")
	expired.NotBefore, expired.NotAfter = past, past.Add(24*time.Hour)
	expiredSrv := tlstest.Localhost("server", "example.org")
	expiredSrv.NotBefore, expiredSrv.NotAfter = past, past.Add(24*time.Hour)

	goodClient, _ := source(t, ca, tlstest.Localhost("client", "example.org"), 0)
	wrongCA, _ := source(t, other, tlstest.Localhost("client", "example.org"), 0)
	expiredClient, _ := source(t, ca, expired, 0)
	oldServer, _ := source(t, ca, expiredSrv, 0)
	// A client that trusts the server's CA but holds a certificate of another.
	foreignPaths, err := other.WriteFiles(t.TempDir(), tlstest.Localhost("client", "example.org"))
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := tlsconf.Load(tlsconf.Files{CA: srvPaths.CA, Cert: foreignPaths.Cert, Key: foreignPaths.Key})
	if err != nil {
		t.Fatal(err)
	}
	caOnlyPath, _ := ca.WriteFiles(t.TempDir(), tlstest.Localhost("unused", ""))
	noCert, err := tlsconf.Load(tlsconf.Files{CA: caOnlyPath.CA})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name           string
		server, client *tlsconf.Source
		want           string
	}{
		{"client trusts another CA", srv, wrongCA, "certificate signed by unknown authority"},
		{"client certificate from another CA", srv, foreign, "unknown certificate authority"},
		{"expired client certificate", srv, expiredClient, "expired certificate"},
		{"expired server certificate", oldServer, goodClient, "certificate has expired"},
		{"no client certificate", srv, noCert, "certificate required"},
	}
	for _, tn := range []string{"tcp", "http"} {
		tc := transports()[tn]
		for _, c := range cases {
			t.Run(tn+"/"+c.name, func(t *testing.T) {
				channeltest.CheckLeaks(t)
				s := serve(t, tc.tr, tc.addr(t), channel.Config{TLS: c.server.Config()})
				_, err := callOnce(t, tc.tr, s.ln.Addr(), channel.Config{TLS: c.client.Config()})
				if err == nil {
					t.Fatal("call succeeded")
				}
				if !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error %q does not say why (want %q)", err, c.want)
				}
				t.Logf("%s: %v", c.name, err)
				if n := s.ran.Load(); n != 0 {
					t.Fatalf("handler ran %d times", n)
				}
			})
		}
	}
	// The control: the right pair works and the server sees the client's certificate.
	for _, tn := range []string{"tcp", "unix", "http"} {
		tc := transports()[tn]
		s := serve(t, tc.tr, tc.addr(t), channel.Config{TLS: srv.Config()})
		got, err := callOnce(t, tc.tr, s.ln.Addr(), channel.Config{TLS: goodClient.Config()})
		if err != nil || got == "plaintext" {
			t.Fatalf("%s: good pair: %q, %v", tn, got, err)
		}
	}
}

// TestPlaintextToTLSChannel: a plaintext client learns that the channel requires TLS,
// and nothing runs.
func TestPlaintextToTLSChannel(t *testing.T) {
	ca := tlstest.NewCA("ca")
	srv, _ := source(t, ca, tlstest.Localhost("server", ""), 0)
	for _, tn := range []string{"tcp", "unix", "http"} {
		t.Run(tn, func(t *testing.T) {
			channeltest.CheckLeaks(t)
			tc := transports()[tn]
			s := serve(t, tc.tr, tc.addr(t), channel.Config{TLS: srv.Config()})
			_, err := callOnce(t, tc.tr, s.ln.Addr(), channel.Config{})
			if err == nil {
				t.Fatal("plaintext call succeeded")
			}
			t.Logf("%v", err)
			var re *framed.RefusedError
			switch {
			case tn != "http" && (!errors.As(err, &re) || re.Code != channel.CodeUnauthenticated):
				t.Fatalf("want a RefusedError with code unauthenticated, got %v", err)
			case tn == "http" && !strings.Contains(err.Error(), "HTTPS"):
				t.Fatalf("want the server's word that it speaks HTTPS, got %v", err)
			}
			if n := s.ran.Load(); n != 0 {
				t.Fatalf("handler ran %d times", n)
			}
		})
	}
}

// TestRotationUnderLoad rotates, while callers keep calling over live and new
// connections, the server's and the client's certificates (testRotation) and the CA they
// trust (testCARotation): no call fails, and new connections present and trust the new
// ones.
func TestRotationUnderLoad(t *testing.T) {
	for _, tn := range []string{"tcp", "http"} {
		t.Run(tn+"/certificates", func(t *testing.T) { testRotation(t, tn) })
		t.Run(tn+"/ca", func(t *testing.T) { testCARotation(t, tn) })
	}
}

func testRotation(t *testing.T, tn string) {
	channeltest.CheckLeaks(t)
	tc := transports()[tn]
	ca := tlstest.NewCA("ca")
	srv, srvPaths := source(t, ca, tlstest.Localhost("server", ""), time.Millisecond)
	cli, cliPaths := source(t, ca, tlstest.Localhost("client", ""), time.Millisecond)
	s := serve(t, tc.tr, tc.addr(t), channel.Config{TLS: srv.Config()})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	live, err := tc.tr.Dial(ctx, s.ln.Addr(), channel.Config{TLS: cli.Config(), PoolSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	first, err := call(ctx, live)
	if err != nil {
		t.Fatal(err)
	}

	stop := callLoad(ctx, tc.tr, s.ln.Addr(), live, cli)
	// Rotate three times; after each, wait until a new connection shows the new client
	// certificate to the server.
	last := first
	for r := 0; r < 3; r++ {
		if _, err := ca.WriteFiles(filepath.Dir(srvPaths.Cert), tlstest.Localhost("server", "")); err != nil {
			t.Fatal(err)
		}
		if _, err := ca.WriteFiles(filepath.Dir(cliPaths.Cert), tlstest.Localhost("client", "")); err != nil {
			t.Fatal(err)
		}
		channeltest.Eventually(t, 10*time.Second, fmt.Sprintf("rotation %d: the server to see a new serial", r), func() bool {
			got, err := callOnce(t, tc.tr, s.ln.Addr(), channel.Config{TLS: cli.Config()})
			if err != nil {
				t.Fatalf("rotation %d: %v", r, err)
			}
			changed := got != last
			last = got
			return changed
		})
	}
	calls, failures, firstErr := stop()
	if failures != 0 {
		t.Fatalf("%d of %d calls failed during rotation, first: %v", failures, calls, firstErr)
	}
	// The connection opened before the rotations is still up and, on tcp (one
	// connection, PoolSize 1), still the old one; http opens more under load.
	got, err := call(ctx, live)
	if err != nil || tn == "tcp" && got != first {
		t.Fatalf("live connection after rotation: %q, %v (want %s)", got, err, first)
	}
	if srv.Reloads() == 0 || cli.Reloads() == 0 {
		t.Fatalf("reloads: server %d, client %d", srv.Reloads(), cli.Reloads())
	}
	t.Logf("%d calls over 3 rotations, none failed; reloads server %d client %d", calls, srv.Reloads(), cli.Reloads())
}

// callLoad keeps 8 callers calling addr over tr until stop: half over live, half each
// over a new connection with cli's current certificate. stop returns how many calls
// were made, how many failed and the first failure.
func callLoad(ctx context.Context, tr channel.Transport, addr string, live channel.Conn, cli *tlsconf.Source) (stop func() (calls, failures int64, firstErr error)) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var n, failed atomic.Int64
	var first atomic.Pointer[error]
	fail := func(err error) {
		failed.Add(1)
		first.CompareAndSwap(nil, &err)
	}
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(fresh bool) {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				cn := live
				if fresh { // a new connection: a new handshake with whatever is current
					var err error
					if cn, err = tr.Dial(ctx, addr, channel.Config{TLS: cli.Config()}); err != nil {
						fail(err)
						return
					}
				}
				if _, err := call(ctx, cn); err != nil {
					fail(err)
				}
				n.Add(1)
				if fresh {
					cn.Close()
				}
			}
		}(i%2 == 0)
	}
	return func() (int64, int64, error) {
		close(done)
		wg.Wait()
		var err error
		if p := first.Load(); p != nil {
			err = *p
		}
		return n.Load(), failed.Load(), err
	}
}
