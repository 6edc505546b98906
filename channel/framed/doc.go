// Package framed implements the tcp and unix transports of package channel: after a
// six-byte connection preface, each connection carries length-prefixed envelopes
// (u32be length, envelope) for many concurrent exchanges, keyed by a client-assigned id,
// with per-stream flow control, cancellation and keep-alive. PROTOCOL.md, section 2,
// describes the bytes.
//
// Goroutines: each connection has one reader and one writer, owned by the Conn or
// Listener that made it; each request runs its handler in a goroutine of its own.
// Listener.Close cancels handlers' contexts and then waits for the handlers to return,
// so a handler must honour its ctx; a Shutdown whose ctx ends cancels them the same way
// but returns at once.
package framed
