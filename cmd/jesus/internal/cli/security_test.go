package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/channel/tlsconf/tlstest"
	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
	"github.com/jesus-go/jesus/schema/registry"
)

// TestEtcdTLSFlags: --cacert, --cert and --key reach an etcd that requires mutual TLS;
// without them the command fails as unavailable and says what to check.
func TestEtcdTLSFlags(t *testing.T) {
	leakCheck(t)
	ca := tlstest.NewCA("etcd ca")
	srv, err := ca.WriteFiles(t.TempDir(), tlstest.Localhost("etcd", ""))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := ca.WriteFiles(t.TempDir(), tlstest.Localhost("cli", ""))
	if err != nil {
		t.Fatal(err)
	}
	emb, err := registry.StartEmbedded(ctxT(t), registry.EmbeddedConfig{Dir: t.TempDir(),
		TLS: &registry.EmbeddedTLS{CertFile: srv.Cert, KeyFile: srv.Key, CAFile: srv.CA}})
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
	ca := tlstest.NewCA("etcd ca")
	srv, err := ca.WriteFiles(t.TempDir(), tlstest.Localhost("etcd", ""))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := ca.WriteFiles(t.TempDir(), tlstest.Localhost("cli", ""))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(ctxT(t))
	var out syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"registry", "serve", "--data-dir", dir, "--listen", "127.0.0.1:0",
			"--tls-cert", srv.Cert, "--tls-key", srv.Key, "--tls-cacert", srv.CA}, cli.Env{Stdout: &out, Stderr: &out, Getenv: noEnv})
	}()
	out.waitFor(t, "export JESUS_ETCD=https://")
	r := jesusCmd(t, "", "--data-dir", dir, "--cacert", cl.CA, "--cert", cl.Cert, "--key", cl.Key, "schema", "ls")
	if r.code != 0 {
		t.Fatalf("schema ls over TLS: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exit %d: %s", code, out.String())
	}
}
