package events

import "sync/atomic"

// Stats are a bus's delivery figures since New. Emitter side: what Emit did per listening
// service; listener side: what the bus's handlers received.
type Stats struct {
	// Emitter side.
	Emitted uint64 // Emit calls whose payload passed the emitter's schema
	Sent    uint64 // noResponse deliveries handed to the transport
	Acked   uint64 // ack deliveries acknowledged by a listening instance
	Retries uint64 // ack delivery attempts after the first
	// Rerouted counts ack delivery attempts sent to another instance after an attempt
	// that failed at one (a time-out is tried at the same instance once first): duplicate
	// suppression is per instance, so each may have been handled twice.
	Rerouted uint64
	Dropped  uint64 // noResponse deliveries that could not be sent (no instance, send error)
	Oversize uint64 // deliveries refused by the transport as too large (e.g. over a udp datagram)
	Failed   uint64 // ack deliveries that failed for good (refused, or no ack before the deadline)
	// Redelivered counts ack deliveries the outbox (WithOutbox) got through after Emit
	// had returned them as failed.
	Redelivered uint64

	// Listener side.
	Received      uint64 // distinct events accepted for a handler of this bus (duplicates not included)
	Duplicates    uint64 // ack events seen before within the dedup window: acked, not handled again
	DecodeErrors  uint64 // events whose meta could not be read (no event id, bad sequence number)
	Invalid       uint64 // payloads that failed this service's listen schema
	Lost          uint64 // noResponse events missing from the senders' sequences (gaps not yet filled); one refused as invalid counts here too
	HandlerErrors uint64 // handler runs that returned an error
	Evicted       uint64 // event ids forgotten before their dedup window ended, at the bound
	TailDropped   uint64 // records a slow Tail reader did not get
}

type counters struct {
	emitted, sent, acked, retries, rerouted, dropped, oversize, failed, redelivered atomic.Uint64
	received, duplicates, decodeErrors, invalid, handlerErrors, tailDropped         atomic.Uint64
}

// Stats returns a snapshot of the bus's figures.
func (b *Bus) Stats() Stats {
	s := Stats{
		Emitted: b.st.emitted.Load(), Sent: b.st.sent.Load(), Acked: b.st.acked.Load(),
		Retries: b.st.retries.Load(), Rerouted: b.st.rerouted.Load(), Dropped: b.st.dropped.Load(), Oversize: b.st.oversize.Load(),
		Failed: b.st.failed.Load(), Redelivered: b.st.redelivered.Load(), Received: b.st.received.Load(), Duplicates: b.st.duplicates.Load(),
		DecodeErrors: b.st.decodeErrors.Load(), Invalid: b.st.invalid.Load(),
		HandlerErrors: b.st.handlerErrors.Load(), TailDropped: b.st.tailDropped.Load(),
	}
	s.Lost = b.streams.lost()
	s.Evicted = b.dedup.evictedCount()
	return s
}
