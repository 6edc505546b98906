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
