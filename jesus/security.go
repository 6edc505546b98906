package jesus

import "fmt"

// refusePlaintext fails a call to a route that speaks TLS only when the client has no
// TLS config: nothing may leave in plaintext (over http the request would, before the
// server could refuse it).
func (c *common) refusePlaintext(r Route, method string) error {
	if !r.Spec.TLS || c.cfg.TLS != nil {
		return nil
	}
	return &Error{Code: CodeFailedPrecondition, Method: method, Message: fmt.Sprintf("channel %s requires TLS and this client has none (channel.Config.TLS): nothing sent in plaintext", r.Spec)}
}
