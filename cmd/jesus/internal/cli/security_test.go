package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema/registry/embedded"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/tlsconf"
	"github.com/jesus-go/jesus/channel/tlsconf/tlstest"
	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
	"github.com/jesus-go/jesus/codec/seal"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/auth"
	"github.com/jesus-go/jesus/schema"
)

// TestEtcdTLSFlags: --cacert, --cert and --key reach an etcd that requires mutual TLS;
// without them the command fails as unavailable and says what to check.
func TestEtcdTLSFlags(t *testing.T) {
	leakCheck(t)
	srv, cl := etcdCerts(t)
	emb, err := embedded.Start(ctxT(t), embedded.Config{Dir: t.TempDir(),
		TLS: &embedded.TLSFiles{CertFile: srv.Cert, KeyFile: srv.Key, CAFile: srv.CA}})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	ep := emb.Endpoints()[0]
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := cli.Main(ctxT(t), args, cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
		return code, out.String() + errb.String()
	}
	if code, out := run("--etcd", ep, "--cacert", cl.CA, "--cert", cl.Cert, "--key", cl.Key, "schema", "ls"); code != 0 {
		t.Fatalf("with TLS flags: exit %d: %s", code, out)
	}
	code, out := run("--etcd", ep, "--dial-timeout", "500ms", "schema", "ls")
	if code != cli.ExitUnavailable || !strings.Contains(out, "--cacert") {
		t.Fatalf("without TLS flags: exit %d: %s", code, out)
	}
	if code, out := run("--etcd", ep, "--cert", cl.Cert, "schema", "ls"); code == 0 || !strings.Contains(out, "--key") {
		t.Fatalf("--cert without --key: exit %d: %s", code, out)
	}
	if code, out := run("--etcd", ep, "--user", "nopassword", "schema", "ls"); code == 0 || !strings.Contains(out, "name:password") {
		t.Fatalf("--user without a password: exit %d: %s", code, out)
	}
}

// TestRegistryServeTLS: "registry serve --tls-cert --tls-key --tls-cacert" serves mutual
// TLS, and a command on the same data directory reaches it with --cacert/--cert/--key.
func TestRegistryServeTLS(t *testing.T) {
	leakCheck(t)
	srv, cl := etcdCerts(t)
	dir := t.TempDir()
	serve := startCmd(t, "registry", "serve", "--data-dir", dir, "--listen", "127.0.0.1:0",
		"--tls-cert", srv.Cert, "--tls-key", srv.Key, "--tls-cacert", srv.CA)
	serve.Out.WaitFor(t, "export JESUS_ETCD=https://")
	r := jesusCmd(t, "", "--data-dir", dir, "--cacert", cl.CA, "--cert", cl.Cert, "--key", cl.Key, "schema", "ls")
	if r.code != 0 {
		t.Fatalf("schema ls over TLS: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	serve.StopWant(t, cli.ExitOK)
}

// etcdCerts writes the files of an etcd's certificate and a client's, from one CA.
func etcdCerts(t *testing.T) (srv, cl tlstest.Paths) {
	t.Helper()
	ca := tlstest.NewCA("etcd ca")
	srv, err := ca.WriteFiles(t.TempDir(), tlstest.Localhost("etcd", ""))
	if err != nil {
		t.Fatal(err)
	}
	cl, err = ca.WriteFiles(t.TempDir(), tlstest.Localhost("cli", ""))
	if err != nil {
		t.Fatal(err)
	}
	return srv, cl
}

// TestCallSecured: "jesus call" reaches a service that speaks mutual TLS, verifies its
// callers and seals its channel, given --tls-* and --from; without them it sends nothing.
func TestCallSecured(t *testing.T) {
	leakCheck(t)
	ep, reg, _ := etcd(t)
	set, err := schema.LoadFS(fstest.MapFS{"vault.json": {Data: []byte(`{"service": "vault", "version": "1.0.0",
  "channels": {"rpc": "tcp+tls+msgpack+seal"},
  "methods": {"put": {"mode": "response", "channel": "rpc", "request": {"type": "string"}, "response": {"type": "string"}, "allow": ["ops"]}}}`)}})
	if err != nil {
		t.Fatal(err)
	}
	d := set.Service("vault")
	ca := tlstest.NewCA("mesh")
	mtls := func(service string) (tlstest.Paths, channel.Config) {
		p, err := ca.WriteFiles(t.TempDir(), tlstest.Localhost(service, "example.org"))
		if err != nil {
			t.Fatal(err)
		}
		src, err := tlsconf.Load(tlsconf.Files{CA: p.CA, Cert: p.Cert, Key: p.Key})
		if err != nil {
			t.Fatal(err)
		}
		return p, channel.Config{TLS: src.Config()}
	}
	_, srvCfg := mtls("vault")
	priv, _ := seal.GenerateKey()
	opener, _ := seal.NewOpener(priv)
	srv := jesus.NewServer("vault", jesus.WithChannelConfig(srvCfg), jesus.WithOpener(opener),
		jesus.WithInterceptors(auth.Interceptor(auth.Config{TrustDomain: "example.org", Allow: auth.AllowFrom(d)})))
	jesus.Handle(srv, "put", func(ctx context.Context, v string) (string, error) { return "stored " + v, nil })
	if err := srv.ListenDescriptor(ctxT(t), d, jesus.LoopbackAddrs(t.TempDir())); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if _, err := discovery.Register(ctxT(t), srv, reg, d); err != nil {
		t.Fatal(err)
	}
	ops, _ := mtls("ops")
	r := jesusCmd(t, "", "--etcd", ep, "call", "vault.put", `"x"`, "--tls-cacert", ops.CA, "--tls-cert", ops.Cert, "--tls-key", ops.Key, "--from", "ops")
	r.want(t, 0, `"stored x"`)
	r = jesusCmd(t, "", "--etcd", ep, "call", "vault.put", `"x"`, "--tls-cacert", ops.CA, "--tls-cert", ops.Cert, "--tls-key", ops.Key)
	if r.code != cli.ExitFailure || !strings.Contains(r.stderr, "unauthenticated") {
		t.Fatalf("From that is not the certificate's: exit %d: %s", r.code, r.stderr)
	}
	r = jesusCmd(t, "", "--etcd", ep, "call", "vault.put", `"x"`)
	if r.code != cli.ExitFailure || !strings.Contains(r.stderr, "requires TLS") {
		t.Fatalf("without TLS: exit %d: %s", r.code, r.stderr)
	}
}
