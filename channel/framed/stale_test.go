package framed_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/framed"
)

// A socket file left behind by a listener that died without closing (kill -9) does not
// keep the next one from starting: nothing accepts on it, so it is removed.
func TestListenUnixStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "u.sock")
	dead, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	dead.SetUnlinkOnClose(false) // as after kill -9: the file stays, nothing listens
	dead.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the stale socket file is not there: %v", err)
	}
	ln, err := framed.Unix().Listen(context.Background(), path, channel.Config{})
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- ln.Serve(benchEcho) }()
	defer func() { ln.Close(); <-served }()
	c, err := framed.Unix().Dial(context.Background(), path, channel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkCall(t, c)
}

// A live socket, and a path that is not a socket, are refused with a clear error and left
// in place.
func TestListenUnixRefusesLiveOrForeign(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live.sock")
	ln, err := framed.Unix().Listen(context.Background(), live, channel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := framed.Unix().Listen(context.Background(), live, channel.Config{}); err == nil || !strings.Contains(err.Error(), "live") {
		t.Fatalf("Listen on a live socket: %v, want an error saying it is live", err)
	}
	file := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(file, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := framed.Unix().Listen(context.Background(), file, channel.Config{}); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Listen on a regular file: %v, want an error saying it is not a socket", err)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep" {
		t.Fatalf("the file was touched: %q %v", b, err)
	}
}
