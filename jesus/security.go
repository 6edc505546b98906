package jesus

import (
	"fmt"

	"github.com/jesus-go/jesus/channel"
)

// WithTLSEverywhere makes a client with a TLS config (channel.Config.TLS) speak TLS to every tcp, unix and
// http route, whether or not its spec says "+tls". Without it the route decides: a route
// whose spec says "+tls" (as every route of a server listening with TLS does, from the
// registry or from the spec its Listen returned) is dialled with TLS, any other in
// plaintext, as a gRPC client's credentials go with the target it dials. Use it for
// hand-written targets that leave "+tls" out, or where nothing may leave in plaintext.
func WithTLSEverywhere() Option {
	return commonOption(func(c *common) { c.tlsAll = true })
}

// dialsTLS says whether a connection to sp speaks TLS: for a "+tls" route, and for every
// route under WithTLSEverywhere, when the client has a TLS config.
func (c *common) dialsTLS(sp channel.Spec) bool {
	return c.cfg.TLS != nil && (sp.TLS || c.tlsAll)
}

// dialConfig is the channel config a connection to sp is dialled with: without TLS where
// dialsTLS says plaintext.
func (c *common) dialConfig(sp channel.Spec) channel.Config {
	cfg := c.cfg
	if !c.dialsTLS(sp) {
		cfg.TLS = nil
	}
	return cfg
}

// refusePlaintext fails a call to a route that speaks TLS only when the client has no
// TLS config: nothing may leave in plaintext (over http the request would, before the
// server could refuse it).
func (c *common) refusePlaintext(r Route, method string) error {
	if !r.Spec.TLS || c.cfg.TLS != nil {
		return nil
	}
	return &Error{Code: CodeFailedPrecondition, Method: method, Message: fmt.Sprintf("channel %s requires TLS and this client has none (channel.Config.TLS): nothing sent in plaintext", r.Spec)}
}
