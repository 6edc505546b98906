// Package framed implements the tcp and unix transports of package channel: after a
// six-byte connection preface, each connection carries length-prefixed envelopes
// (u32be length, envelope) for many concurrent exchanges, keyed by a client-assigned id,
// with per-stream flow control, cancellation and keep-alive. PROTOCOL.md, section 2,
// describes the bytes.
//
// noResponse requests are flow-controlled per connection: the server grants a window
// of one-way credit (Config.OneWayWindow), Conn.Open waits for credit on any connection
// of the pool (until its ctx ends), and the server returns the credit with how many of
// the requests it ran and dropped. Nothing ever goes back for one request: a refused
// one (shutting down, or a handler's TypeError reply) is a counted drop. The Conn
// implements channel.OneWayCounter and the Listener channel.OneWayListenerCounter.
//
// Goroutines: each connection has one reader and one writer, owned by the Conn or
// Listener that made it; each request runs its handler on a pooled goroutine (at most
// MaxInFlight per connection, plus the noResponse ones the one-way window admits),
// except a call that arrives alone on an idle server connection: the reader runs it
// itself, and a handler that keeps it longer than a millisecond gets reading moved to a
// new goroutine, so a handler that blocks delays the requests behind it on its
// connection by about that much.
// Listener.Close cancels handlers' contexts and then waits for the handlers to return,
// so a handler must honour its ctx; a Shutdown whose ctx ends cancels them the same way
// but returns at once.
package framed
