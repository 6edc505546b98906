package embedded_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/schema/registry"
	"github.com/jesus-go/jesus/schema/registry/embedded"
	"github.com/jesus-go/jesus/schema/registry/registrytest"
)

func TestEmbeddedConfigErrors(t *testing.T) {
	channeltest.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cases := []struct {
		name string
		cfg  embedded.Config
		want string
	}{
		{"not loopback", embedded.Config{Dir: t.TempDir(), ClientAddr: "0.0.0.0:0"}, "loopback"},
		{"bad addr", embedded.Config{Dir: t.TempDir(), PeerAddr: "nonsense"}, "PeerAddr"},
		{"port taken", embedded.Config{Dir: t.TempDir(), ClientAddr: l.Addr().String()}, l.Addr().String()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := embedded.Start(ctx, tc.cfg)
			if err == nil {
				e.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want it to mention %q", err, tc.want)
			}
			if tc.name == "port taken" && !errors.Is(err, syscall.EADDRINUSE) {
				t.Fatalf("port in use not recognisable: %v", err)
			}
		})
	}
}

// TestEmbeddedTempDir: without a Dir, etcd runs in a temporary directory of its own, kept
// across Restart and removed by Close; a bad config leaves none behind.
func TestEmbeddedTempDir(t *testing.T) {
	channeltest.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t.Setenv("TMPDIR", t.TempDir())
	if _, err := embedded.Start(ctx, embedded.Config{ClientAddr: "0.0.0.0:0"}); err == nil {
		t.Fatal("started on a non-loopback address")
	}
	if left, _ := os.ReadDir(os.TempDir()); len(left) != 0 {
		t.Fatalf("a failed start left %v behind", left)
	}
	e, err := embedded.Start(ctx, embedded.Config{})
	if err != nil {
		t.Fatal(err)
	}
	dir := e.Dir()
	if filepath.Dir(dir) != os.TempDir() {
		t.Fatalf("data in %s, want a directory in %s", dir, os.TempDir())
	}
	e.Stop()
	if err := e.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "member")); err != nil {
		t.Fatalf("restart lost the data directory: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("Close left %s: %v", dir, err)
	}
}

func TestEmbeddedRestartKeepsDataAndPorts(t *testing.T) {
	channeltest.CheckLeaks(t)
	e, r, _ := registrytest.Start(t, 2*time.Second)
	eps := e.Endpoints()
	ctx := context.Background()
	if err := r.PublishDescriptor(ctx, "orders", "1.0.0", []byte(`{"service":"orders","version":"1.0.0","channels":{"rpc":"tcp+msgpack"},"methods":{}}`)); err != nil {
		t.Fatal(err)
	}
	e.Stop()
	e.Stop()
	if e.Running() {
		t.Fatal("running after Stop")
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := e.Restart(rctx); err != nil {
		t.Fatal(err)
	}
	if err := e.Restart(rctx); err != nil {
		t.Fatalf("Restart while running: %v", err)
	}
	if got := e.Endpoints(); got[0] != eps[0] {
		t.Fatalf("endpoints changed: %v -> %v", eps, got)
	}
	doc, err := r.Descriptor(ctx, "orders", "1.0.0")
	if err != nil || !strings.Contains(string(doc), "orders") {
		t.Fatalf("descriptor after restart: %s %v", doc, err)
	}
	// A second etcd on the same data directory fails at once instead of hanging.
	start := time.Now()
	other, err := embedded.Start(rctx, embedded.Config{Dir: e.Dir()})
	if err == nil {
		other.Close()
		t.Fatal("second etcd started on a data dir in use")
	}
	if !strings.Contains(err.Error(), "in use") || time.Since(start) > 5*time.Second {
		t.Fatalf("second etcd on the same dir: %v after %s", err, time.Since(start))
	}
	e.Close()
	if err := e.Restart(rctx); !errors.Is(err, registry.ErrClosed) {
		t.Fatalf("Restart after Close: %v", err)
	}
}
