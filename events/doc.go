// Package events delivers domain events and logs from the services that emit them to every
// service that listens, over the channel and in the mode the emitter's descriptor declares,
// with typed Emit and On, schema validation on both sides and delivery figures. Routing
// comes from the registry: the listeners of an event are the services whose latest
// descriptor lists it under listens, and each gets it once, on one live instance.
//
// # Delivery
//
// An event travels as a one-way jesus request to method "<listener>.event:<event>" of a
// listening instance (see PROTOCOL.md, section 8). Its data is the payload encoded with the
// codec of the event's channel; Meta.Extra carries the event name, its id and, for
// noResponse events, a sequence number that lets the listener count what was lost.
//
//   - noResponse (e.g. logs over udp): best effort. Each listening service gets one
//     datagram; nothing is retried. The emitter counts what it handed to the transport
//     (Sent), what it could not send (Dropped) and what was too large (Oversize); the
//     listener counts what arrived (Received) and the gaps in each sender's sequence (Lost).
//   - ack (e.g. domain events over http): at least once. Each listening service is retried
//     with backoff, on another instance after a failure, until one instance acknowledges or
//     the emit's deadline passes. The listener acknowledges only a payload that passed its
//     own schema, and suppresses duplicates by event id within a window so that its
//     handler sees a retried event once. An ack counts only from the listening service
//     itself: what a server answers that took the address of an instance that is gone
//     (PROTOCOL.md, sections 3 and 4.2) fails as unavailable, and the event goes to
//     another instance.
//
// An ack means that the listener accepted the event, not that its handler finished: the
// handler runs after the ack, and a hard stop of the listener's server (Close) cancels
// its context. A listener process that dies, or a handler that gives up on that context,
// loses an acked event, unless the listener's server keeps a journal (jesus.WithJournal):
// then the event is written down before the ack and a handler cut short runs again at the
// next start, which is what an emitter used to the persisted acks of a broker (NATS
// JetStream, a Dapr pub/sub component) expects.
//
// # Validation
//
// The emitter checks each payload against its own events[E].payload before sending; the
// listener's server checks it against the listener's listens[E].payload before the ack
// (On registers its handler so, whatever validation the server was created with). A
// refusal reaches the emitter as invalid_argument naming the listener and each failing
// pointer, in Result.Failed, and is counted in the listener's Stats.Invalid.
//
// # Outbox
//
// With WithOutbox, an ack event is written to a bbolt file before its first send and
// stays there until every listening service acknowledged it: the services Emit reports
// as failed for a reason that may pass (unreachable, no live instance, busy, slow) are
// retried in the background, across restarts of the emitter, until they acknowledge or
// the outbox's age passes. Then, or at once for a refusal that retrying cannot change,
// the event goes to the dead letters (Bus.DeadLetters), with the last error of each
// service. With a journal on the listeners (jesus.WithJournal, events.JournalKey), an
// event retried after a lost ack is not handled twice.
//
// # Layering
//
// A Bus is a layer on jesus, not a second stack: events are sent with a *jesus.Client
// (its codecs, transports, limits and interceptors apply), served by a *jesus.Server
// (event handlers are registered with jesus.CheckRequests, jesus.Unlisted and an
// interceptor that reads the event meta and suppresses duplicates), and routed by
// jesus/discovery, the same picker with the same memory of failed endpoints as calls.
// A listening service with no live instance in the registry fails at once (unavailable).
//
// Duplicate suppression is per listening instance. A retry after a lost acknowledgement
// that lands on another instance of the same service runs that service's handler a second
// time: handlers of ack events should be idempotent where that matters. The window is
// bounded in entries too; at the bound the oldest ids are forgotten early (counted in
// Stats.Evicted) and a retry of such an event would run the handler again.
//
// # Concurrency
//
// A Bus is safe for concurrent use. Emit fans out to the listening services in parallel,
// at most WithMaxParallel at once, and returns when every one has acknowledged, failed or
// run out of time. Close is repeat-safe; it closes the bus's connections and tail channels.
package events
