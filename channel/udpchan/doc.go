// Package udpchan is the udp transport of package channel: one binary envelope per
// datagram, for fire-and-forget messages (noResponse, e.g. logs) and acknowledged ones
// (ack), which the client retransmits until the receiver answers and the receiver
// deduplicates so that its handler sees each request once. Response and stream modes,
// and messages larger than Config.MaxDatagram, belong on the tcp, unix or http transports.
package udpchan
