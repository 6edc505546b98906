package tour_test

import (
	"testing"
	"testing/fstest"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/tlsconf"
	"github.com/jesus-go/jesus/channel/tlsconf/tlstest"
	"github.com/jesus-go/jesus/cmd/jesus/internal/tour"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
)

// TestSecure runs the README's Security example: orders may post, billing may not, and
// a client without TLS sends nothing.
func TestSecure(t *testing.T) {
	leakCheck(t)
	set, err := schema.LoadFS(fstest.MapFS{"ledger.json": {Data: []byte(`{"service": "ledger", "version": "1.0.0",
  "channels": {"rpc": "tcp+tls+msgpack+zstd"},
  "methods": {"post": {"mode": "response", "channel": "rpc", "request": {"type": "integer"}, "response": {"type": "integer"}, "allow": ["orders"]}}}`)}})
	if err != nil {
		t.Fatal(err)
	}
	ca := tlstest.NewCA("mesh")
	files := func(service string) tlstest.Paths {
		p, err := ca.WriteFiles(t.TempDir(), tlstest.Localhost(service, "example.org"))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	ctx := t.Context()
	lp := files("ledger")
	srv, err := tour.Secure(ctx, set.Service("ledger"), lp.CA, lp.Cert, lp.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	target := srv.Channels()[0].String()
	for _, c := range []struct {
		caller string
		tls    bool
		want   jesus.Code
	}{{"orders", true, ""}, {"billing", true, jesus.CodePermissionDenied}, {"orders", false, jesus.CodeFailedPrecondition}} {
		var cfg channel.Config
		if c.tls {
			p := files(c.caller)
			src, err := tlsconf.Load(tlsconf.Files{CA: p.CA, Cert: p.Cert, Key: p.Key})
			if err != nil {
				t.Fatal(err)
			}
			cfg.TLS = src.Config()
		}
		cl := jesus.NewClient(c.caller, jesus.WithTarget(target), jesus.WithChannelConfig(cfg))
		_, err := jesus.Call[int, int](ctx, cl, "ledger.post", 3)
		cl.Close()
		if got := jesus.CodeOf(err); got != c.want && !(c.want == "" && err == nil) {
			t.Errorf("%s (tls %v): %v, want %q", c.caller, c.tls, err, c.want)
		}
	}
}
