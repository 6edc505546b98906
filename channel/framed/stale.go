package framed

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"
	"time"
)

// staleProbe bounds the connect that tells a live socket from a stale one.
const staleProbe = time.Second

// clearStaleSocket makes room for a unix listener at path. A socket file left behind by a
// process that died without closing its listener (kill -9, a crash) would make bind fail
// with "address already in use" forever: it is removed once a connect to it is refused,
// which proves that nothing listens there. A socket something accepts on is left alone and
// reported, as is anything that is not a socket.
func clearStaleSocket(ctx context.Context, path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("framed: listen unix %s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("framed: listen unix %s: the path exists and is not a socket (%s); not touching it", path, fi.Mode().Type())
	}
	d := net.Dialer{Timeout: staleProbe}
	nc, err := d.DialContext(ctx, "unix", path)
	if err == nil {
		nc.Close()
		return fmt.Errorf("framed: listen unix %s: another listener is live on this socket (a connect succeeded); stop it or use another path", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("framed: listen unix %s: the socket exists and cannot be proven stale: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("framed: listen unix %s: removing the stale socket: %w", path, err)
	}
	return nil
}
