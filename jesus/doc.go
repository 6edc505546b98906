// Package jesus is the client and server of the jesus communication layer: typed RPC in
// four response modes over any channel (tcp, unix, http, udp), with deadlines,
// cancellation, errors with codes, a concurrency limit and graceful shutdown.
//
// # Modes
//
//   - noResponse (Send, HandleOneWay): the call returns once the message is handed to the
//     transport. Nothing comes back, not even errors; the receiver logs them.
//   - ack (Ack, HandleOneWay): the receiver answers once it has accepted the request —
//     decoded it, validated it when validation is on, admitted it under its concurrency
//     limit — and then runs the handler. The ack is a promise: the handler runs to its end
//     even if the caller disconnects, and a graceful Shutdown waits for it. Over udp the
//     request is retransmitted until acked and duplicates are suppressed by the receiver.
//   - response (Call, Handle): one response or one error.
//   - stream (Stream, HandleStream): 0..N items then the end, or an error. Breaking out of
//     the caller's loop cancels the handler's context. The sender blocks while the caller
//     is not reading (flow control), so a slow reader bounds the memory used.
//
// Response and stream are refused over udp when the call is made (unimplemented).
//
// # Deadlines and metadata
//
// A caller's context deadline travels as a relative timeout; the handler's context ends
// when that passes, when the caller cancels or disconnects, or when the server closes.
// Handlers read the incoming message with MsgFromContext; calls made with the handler's
// context pass its correlation id (corrid) on, and a first call creates one.
//
// # Errors
//
// Every error is an *Error with a Code from a closed set; errors that came over the wire
// have Remote set, and errors.Is(err, ErrNotFound) matches by code.
//
// # Concurrency
//
// Client and Server are safe for concurrent use. A Server runs at most WithMaxConcurrent
// calls at once and refuses more with resource_exhausted; Shutdown stops accepting, drains
// within its context's bound, then closes hard; Close stops at once. Both are repeat-safe.
package jesus
