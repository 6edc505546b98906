// Package framed implements the tcp and unix transports of package channel: after a
// six-byte connection preface, each connection carries length-prefixed envelopes
// (u32be length, envelope) for many concurrent exchanges, keyed by a client-assigned id,
// with per-stream flow control, cancellation and keep-alive. PROTOCOL.md, section 2,
// describes the bytes.
package framed
