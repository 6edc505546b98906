package httpchan

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// withTLS makes a client speak TLS when cfg is set: the base URL becomes https, the
// net/http transport (streams) gets cfg, and the returned config, with the server name
// filled in, is the one of the client's own wire connections. nil for plaintext.
func withTLS(tr *http.Transport, u *url.URL, cfg *tls.Config) *tls.Config {
	if cfg == nil {
		return nil
	}
	u.Scheme = "https"
	c := channel.ClientTLS(cfg, u.Hostname())
	tr.TLSClientConfig = c
	return c
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// handshake runs the client side of TLS over nc within ctx and timeout.
func handshake(ctx context.Context, nc net.Conn, cfg *tls.Config, timeout time.Duration) (net.Conn, error) {
	tc := tls.Client(nc, cfg)
	nc.SetDeadline(time.Now().Add(timeout))
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return tc, nil
}
