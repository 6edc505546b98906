// Package channel moves envelopes between processes. It defines the binary envelope
// (AppendEnvelope, ParseEnvelope), the Transport contract that the tcp, unix, http and
// udp transports in its subpackages implement, channel specs ("tcp+msgpack+zstd"), and
// the limits every transport enforces (Config). It never looks inside Envelope.Data: the
// codec layer owns the payload and the jesus layer owns the meaning of a call.
package channel
