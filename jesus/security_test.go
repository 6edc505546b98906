package jesus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/tlsconf"
	"github.com/jesus-go/jesus/channel/tlsconf/tlstest"
	"github.com/jesus-go/jesus/jesus"
)

// mtlsConfig returns a channel config with mutual TLS for service, issued by ca.
func mtlsConfig(t testing.TB, ca *tlstest.CA, service string) channel.Config {
	t.Helper()
	p, err := ca.WriteFiles(t.TempDir(), tlstest.Localhost(service, ""))
	if err != nil {
		t.Fatal(err)
	}
	src, err := tlsconf.Load(tlsconf.Files{CA: p.CA, Cert: p.Cert, Key: p.Key})
	if err != nil {
		t.Fatal(err)
	}
	return channel.Config{TLS: src.Config()}
}

// startTLSProbe serves "probe.tls", which says whether the call came in over TLS, on
// spec with cfg; it returns the spec Listen bound.
func startTLSProbe(t *testing.T, cfg channel.Config, spec string) channel.Spec {
	t.Helper()
	s := jesus.NewServer("probe", jesus.WithChannelConfig(cfg))
	jesus.Handle(s, "tls", func(ctx context.Context, _ int) (bool, error) {
		return channel.PeerTLS(ctx) != nil, nil
	})
	bound, err := s.Listen(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return bound
}

// plainSpec is sp without "+tls": what a hand-written target says.
func plainSpec(sp channel.Spec) string {
	sp.TLS = false
	return sp.String()
}

// TestRouteDecidesTLS: a client with a TLS config speaks TLS to a route that says
// "+tls" (the spec a TLS server binds and publishes) and plaintext to one that does not,
// unless WithTLSEverywhere; over tcp and http.
func TestRouteDecidesTLS(t *testing.T) {
	ca := tlstest.NewCA("ca")
	for _, tn := range []string{"tcp", "http"} {
		t.Run(tn, func(t *testing.T) {
			channeltest.CheckLeaks(t)
			spec := tn + "+msgpack://127.0.0.1:0"
			secure := startTLSProbe(t, mtlsConfig(t, ca, "probe"), spec)
			plain := startTLSProbe(t, channel.Config{}, spec)
			if !secure.TLS || plain.TLS {
				t.Fatalf("bound specs: TLS server %s, plaintext server %s (want +tls on the first alone)", secure, plain)
			}
			cliCfg := mtlsConfig(t, ca, "caller")
			for _, c := range []struct {
				name       string
				target     string
				everywhere bool
				wantTLS    bool
				wantErr    string // in the error, lower-cased: the mismatch is named
			}{
				{"+tls route", secure.String(), false, true, ""},
				{"plain route to a plaintext server", plainSpec(plain), false, false, ""},
				{"plain route to a TLS server", plainSpec(secure), false, false, "tls"},
				{"everywhere, plain route to a TLS server", plainSpec(secure), true, true, ""},
				{"everywhere, plain route to a plaintext server", plainSpec(plain), true, false, "tls"},
			} {
				t.Run(c.name, func(t *testing.T) {
					opts := []jesus.Option{jesus.WithTarget(c.target), jesus.WithChannelConfig(cliCfg)}
					if c.everywhere {
						opts = append(opts, jesus.WithTLSEverywhere())
					}
					cl := jesus.NewClient("caller", opts...)
					defer cl.Close()
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					got, err := jesus.Call[int, bool](ctx, cl, "probe.tls", 1)
					if c.wantErr != "" {
						if err == nil || !strings.Contains(strings.ToLower(err.Error()), c.wantErr) {
							t.Fatalf("got %v, %v; want an error with %q", got, err, c.wantErr)
						}
						t.Logf("%v", err)
						return
					}
					if err != nil || got != c.wantTLS {
						t.Fatalf("over TLS: %v, %v (want %v)", got, err, c.wantTLS)
					}
				})
			}
		})
	}
}
