package channel

import (
	"context"
	"crypto/tls"
)

// tlsKey is the context key of the caller's TLS connection state.
type tlsKey struct{}

// WithPeerTLS returns ctx carrying the TLS state of the connection a request came in
// on. Transports that serve TLS put it in the context of every handler they run, so that
// the layer above can identify the caller by its certificate.
func WithPeerTLS(ctx context.Context, cs *tls.ConnectionState) context.Context {
	return context.WithValue(ctx, tlsKey{}, cs)
}

// PeerTLS returns the TLS state of the connection the request of ctx came in on, or nil
// when it came in over plaintext.
func PeerTLS(ctx context.Context) *tls.ConnectionState {
	cs, _ := ctx.Value(tlsKey{}).(*tls.ConnectionState)
	return cs
}

// CodeUnauthenticated is the code of a refusal for want of credentials, e.g. plaintext
// sent to a channel that requires TLS. It is part of the closed set of package jesus.
const CodeUnauthenticated = "unauthenticated"

// ClientTLS returns the client config of a connection to serverName (the host of the
// address dialled): a clone of cfg with ServerName set when cfg leaves it empty. Its
// VerifyConnection, when cfg has one, sees ConnectionState.ServerName set to the name the
// server is verified against even where crypto/tls leaves it empty (an IP address), so
// that a verifier that reads its CA pool at each handshake (package tlsconf) checks the
// same name crypto/tls would. nil for nil.
func ClientTLS(cfg *tls.Config, serverName string) *tls.Config {
	if cfg == nil {
		return nil
	}
	c := cfg.Clone()
	if c.ServerName == "" {
		c.ServerName = serverName
	}
	if verify := c.VerifyConnection; verify != nil {
		name := c.ServerName
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if cs.ServerName == "" {
				cs.ServerName = name
			}
			return verify(cs)
		}
	}
	return c
}
