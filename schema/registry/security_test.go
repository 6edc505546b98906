package registry_test

import (
	"context"
	"github.com/jesus-go/jesus/schema/registry/embedded"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/jesus-go/jesus/channel/tlsconf/tlstest"
	"github.com/jesus-go/jesus/schema/registry"
)

const secDoc = `{"service":"sec","version":"1.0.0","channels":{}}`

func secCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestEmbeddedTLS: an embedded etcd that serves mutual TLS takes a client with the
// right CA and certificate, and refuses one without a certificate or with another CA.
func TestEmbeddedTLS(t *testing.T) {
	ca := tlstest.NewCA("etcd ca")
	srv, err := ca.WriteFiles(t.TempDir(), tlstest.Localhost("etcd", ""))
	if err != nil {
		t.Fatal(err)
	}
	cli, err := ca.WriteFiles(t.TempDir(), tlstest.Localhost("orders", ""))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := tlstest.NewCA("other").WriteFiles(t.TempDir(), tlstest.Localhost("orders", ""))
	ctx := secCtx(t)
	emb, err := embedded.Start(ctx, embedded.Config{Dir: t.TempDir(),
		TLS: &embedded.TLSFiles{CertFile: srv.Cert, KeyFile: srv.Key, CAFile: srv.CA}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Close() })
	if ep := emb.Endpoints()[0]; !strings.HasPrefix(ep, "https://") {
		t.Fatalf("endpoint %s", ep)
	}
	good, err := registry.TLSFiles(cli.CA, cli.Cert, cli.Key)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Open(ctx, registry.Config{Endpoints: emb.Endpoints(), TLS: good})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if err := reg.PublishDescriptor(ctx, "sec", "1.0.0", []byte(secDoc)); err != nil {
		t.Fatal(err)
	}

	noCert, _ := registry.TLSFiles(cli.CA, "", "")
	wrongCA, _ := registry.TLSFiles(other.CA, other.Cert, other.Key)
	for name, c := range map[string]registry.Config{
		"no client certificate": {TLS: noCert},
		"another CA":            {TLS: wrongCA},
		"plaintext":             {},
	} {
		c.Endpoints, c.DialTimeout, c.CallTimeout = emb.Endpoints(), time.Second, time.Second
		r, err := registry.Open(ctx, c)
		if err == nil {
			_, err = r.Descriptor(ctx, "sec", "1.0.0")
			r.Close()
		}
		if err == nil {
			t.Errorf("%s: reached etcd", name)
		}
		t.Logf("%s: %v", name, err)
	}
	if _, err := registry.TLSFiles("", cli.Cert, ""); err == nil {
		t.Error("a certificate without its key was taken")
	}
}

// TestEtcdAuth: with etcd's auth on, a registry opened with user and password works,
// and one without is refused.
func TestEtcdAuth(t *testing.T) {
	ctx := secCtx(t)
	emb, err := embedded.Start(ctx, embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emb.Close() })
	admin, err := clientv3.New(clientv3.Config{Endpoints: emb.Endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, step := range []func() error{
		func() error { _, err := admin.UserAdd(ctx, "root", "s3cret"); return err },
		func() error { _, err := admin.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := admin.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	reg, err := registry.Open(ctx, registry.Config{Endpoints: emb.Endpoints(), Username: "root", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if err := reg.PublishDescriptor(ctx, "sec", "1.0.0", []byte(secDoc)); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]registry.Config{
		"no credentials": {},
		"wrong password": {Username: "root", Password: "guess"},
	} {
		c.Endpoints, c.DialTimeout, c.CallTimeout = emb.Endpoints(), 2*time.Second, 2*time.Second
		r, err := registry.Open(ctx, c)
		if err == nil {
			_, err = r.Descriptor(ctx, "sec", "1.0.0")
			r.Close()
		}
		if err == nil {
			t.Errorf("%s: read the registry", name)
		}
		t.Logf("%s: %v", name, err)
	}
}

func TestInstanceSealKey(t *testing.T) {
	in := registry.Instance{ID: "a", Service: "vault", Version: "1.0.0", Endpoints: map[string]string{"rpc": "tcp+msgpack+seal://127.0.0.1:1"},
		SealKey: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"}
	if err := in.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"short", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+"} {
		in.SealKey = bad
		if err := in.Validate(); err == nil {
			t.Errorf("sealKey %q accepted", bad)
		}
	}
}
