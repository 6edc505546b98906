package tlsconf_test

import (
	"os"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/channel/tlsconf"
	"github.com/jesus-go/jesus/channel/tlsconf/tlstest"
)

func TestLoadErrors(t *testing.T) {
	ca := tlstest.NewCA("ca")
	p, err := ca.WriteFiles(t.TempDir(), tlstest.Localhost("svc", ""))
	if err != nil {
		t.Fatal(err)
	}
	bad := p.CA + ".bad"
	os.WriteFile(bad, []byte("not pem"), 0o600)
	for _, c := range []struct {
		f    tlsconf.Files
		want string
	}{
		{tlsconf.Files{}, "no files"},
		{tlsconf.Files{Cert: p.Cert}, "needs its key"},
		{tlsconf.Files{CA: p.CA + ".missing"}, "no such file"},
		{tlsconf.Files{CA: bad}, "holds no PEM certificate"},
		{tlsconf.Files{Cert: p.Cert, Key: p.CA}, p.Cert},
	} {
		if _, err := tlsconf.Load(c.f); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Load(%+v) = %v, want an error containing %q", c.f, err, c.want)
		}
	}
}

// TestReloadKeepsOldOnError: a rotation caught half written (a certificate without its
// key) leaves the previous material serving, and the next complete one is taken.
func TestReloadKeepsOldOnError(t *testing.T) {
	ca := tlstest.NewCA("ca")
	dir := t.TempDir()
	p, err := ca.WriteFiles(dir, tlstest.Localhost("svc", ""))
	if err != nil {
		t.Fatal(err)
	}
	s, err := tlsconf.Load(tlsconf.Files{CA: p.CA, Cert: p.Cert, Key: p.Key, CheckEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := ca.Issue(tlstest.Localhost("svc", ""))
	os.WriteFile(p.Cert, c2, 0o600) // the key is still the old one
	if err := s.Reload(); err == nil || s.Err() == nil {
		t.Fatal("a certificate that does not match its key was taken")
	}
	if s.Reloads() != 0 {
		t.Fatalf("reloads %d", s.Reloads())
	}
	if _, err := ca.WriteFiles(dir, tlstest.Localhost("svc", "")); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); err != nil || s.Err() != nil || s.Reloads() != 1 {
		t.Fatalf("complete rotation: %v, %v, %d", err, s.Err(), s.Reloads())
	}
}
