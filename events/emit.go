package events

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/backoff"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
)

// Keys of Meta.Extra on an event request (PROTOCOL.md, section 8). Over http they arrive
// canonicalised ("Event-Id"); listeners look them up without regard to case.
const (
	ExtraEvent  = "event"    // the event name
	ExtraID     = "event-id" // the event id (UUID text form, unique per emit), the same for every listening service
	ExtraSeq    = "seq"      // noResponse only: decimal sequence number, 1, 2, ... per stream
	ExtraSource = "src"      // noResponse only: the sender stream's id (one per emitting bus)
)

// Result is what one Emit did: the event, its id, and per listening service whether it
// acknowledged (ack events), was handed to the transport (noResponse events) or failed.
type Result struct {
	Event, ID string
	Acked     []string         // services that acknowledged, sorted
	Sent      []string         // services a noResponse event was sent to, sorted
	Failed    map[string]error // services that did not get it, with why (a *jesus.Error)
}

// Err returns nil when no listening service failed, otherwise a *DeliveryError.
func (r Result) Err() error {
	if len(r.Failed) == 0 {
		return nil
	}
	return &DeliveryError{Event: r.Event, ID: r.ID, Failed: r.Failed}
}

// DeliveryError says which listening services did not get an event, and why. errors.Is
// matches any of the per-service errors (e.g. jesus.ErrInvalidArgument).
type DeliveryError struct {
	Event, ID string
	Failed    map[string]error
}

func (e *DeliveryError) Error() string {
	svcs := make([]string, 0, len(e.Failed))
	for s := range e.Failed {
		svcs = append(svcs, s)
	}
	sort.Strings(svcs)
	var b strings.Builder
	fmt.Fprintf(&b, "events: %s %s: not delivered to %d listening service(s)", e.Event, e.ID, len(svcs))
	for _, s := range svcs {
		fmt.Fprintf(&b, "; %s: %v", s, e.Failed[s])
	}
	return b.String()
}

// Unwrap returns the per-service errors.
func (e *DeliveryError) Unwrap() []error {
	out := make([]error, 0, len(e.Failed))
	for _, err := range e.Failed {
		out = append(out, err)
	}
	return out
}

// Emit sends payload as event to every service that listens to it, in the mode and over
// the channel self's descriptor declares for the event. The payload is first checked
// against self's events[event].payload (invalid_argument naming service, event and
// pointers). noResponse events return once handed to the transports; ack events return
// once every listening service acknowledged or ctx (default WithTimeout) ended. The
// error is nil when every listening service got the event, otherwise res.Err(); an event
// nobody listens to is not an error (res has no services). The event's corrid is ctx's
// (see jesus.WithCorrID), so a handler that emits passes its own on.
func Emit[T any](ctx context.Context, b *Bus, event string, payload T) (Result, error) {
	return b.emit(ctx, event, payload)
}

func (b *Bus) emit(ctx context.Context, event string, payload any) (Result, error) {
	res := Result{Event: event}
	ev := b.out[event]
	if ev == nil {
		return res, &jesus.Error{Code: jesus.CodeInvalidArgument, Service: b.self.ID(), Method: event,
			Message: fmt.Sprintf("events: %s declares no event %q", b.self.ID(), event)}
	}
	if err := ctx.Err(); err != nil {
		return res, &jesus.Error{Code: codeOfContext(err), Method: event, Message: "events: " + err.Error()}
	}
	bp := b.getBuf()
	defer b.bufs.Put(bp)
	data, err := b.encode(ev, payload, bp)
	if err != nil {
		return res, err
	}
	b.st.emitted.Add(1)
	res.ID = b.newID()
	if b.disc == nil {
		return res, &jesus.Error{Code: jesus.CodeFailedPrecondition, Service: b.self.ID(), Method: event,
			Message: "events: this bus was made without discovery (New with a nil disc) and only listens"}
	}
	ls := b.listenersOf(event)
	if ls == nil || len(ls.services) == 0 {
		return res, nil
	}
	services := ls.services
	if _, ok := ctx.Deadline(); !ok && ev.mode == jesus.ModeAck {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.o.timeout)
		defer cancel()
	}
	b.connMu.Lock()
	if b.closed {
		b.connMu.Unlock()
		return res, &jesus.Error{Code: jesus.CodeUnavailable, Method: event, Message: "events: the bus is closed"}
	}
	b.inFlight.Add(1)
	b.connMu.Unlock()
	defer b.inFlight.Done()

	d := delivery{b: b, ev: ev, id: res.ID, data: data, corrID: jesus.CorrID(ctx)}
	if d.corrID == "" {
		d.corrID = res.ID // an emit that starts a chain: its id is a fine corrid
	}
	if b.outbox != nil && ev.mode == jesus.ModeAck {
		e, err := b.outboxPut(d, services)
		if err != nil {
			return res, err
		}
		defer func() { b.outboxSettle(e, res.Failed) }()
	}
	if len(services) == 1 {
		// The common case, without the fan-out's goroutines and slices.
		res.add(services[0], d.to(ctx, services[0], ls.methods[0]), ev.mode)
		return res, res.Err()
	}
	errs := b.fanOut(ctx, d, ls)
	for i, svc := range services {
		res.add(svc, errs[i], ev.mode)
	}
	return res, res.Err()
}

// add records how the delivery of an event in mode to svc went.
func (r *Result) add(svc string, err error, mode jesus.Mode) {
	switch {
	case err != nil:
		if r.Failed == nil {
			r.Failed = map[string]error{}
		}
		r.Failed[svc] = err
	case mode == jesus.ModeAck:
		r.Acked = append(r.Acked, svc)
	default:
		r.Sent = append(r.Sent, svc)
	}
}

// outboxPut keeps the delivery d of an ack event to services in the outbox until
// outboxSettle says how it went.
func (b *Bus) outboxPut(d delivery, services []string) (*outboxEntry, error) {
	e := &outboxEntry{Event: d.ev.name, ID: d.id, CorrID: d.corrID, Data: append([]byte(nil), d.data...), Pending: services, Created: time.Now()}
	if err := b.outbox.put(e); err != nil {
		return nil, &jesus.Error{Code: jesus.CodeUnavailable, Method: d.ev.name, Message: "events: outbox: " + err.Error()}
	}
	return e, nil
}

// outboxSettle records in the outbox which services of e did not get it (failed), and
// logs an entry that goes to the dead letters.
func (b *Bus) outboxSettle(e *outboxEntry, failed map[string]error) {
	dead, err := b.outbox.settle(e, failed, time.Now())
	if err != nil {
		b.o.logger.Error("events: outbox not updated", "event", e.Event, "id", e.ID, "err", err)
		return
	}
	if dead {
		b.o.logger.Warn("events: outbox: a dead letter", "event", e.Event, "id", e.ID, "failed", fmt.Sprint(failed))
	}
}

// fanOut delivers d to every listening service in parallel, at most b.o.parallel at once,
// and returns the error of each. (A function of its own, so that the goroutines' captures
// do not move emit's variables to the heap for the common case of one listener.)
func (b *Bus) fanOut(ctx context.Context, d delivery, ls *listeners) []error {
	errs := make([]error, len(ls.services))
	var wg sync.WaitGroup
	sem := make(chan struct{}, b.o.parallel)
	for i, svc := range ls.services {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = d.to(ctx, svc, ls.methods[i])
		}()
	}
	wg.Wait()
	return errs
}

// getBuf returns a buffer for an encoded payload from the bus's pool.
func (b *Bus) getBuf() *[]byte {
	if bp, ok := b.bufs.Get().(*[]byte); ok {
		return bp
	}
	buf := make([]byte, 0, 512)
	return &buf
}

// encode serializes the payload, checks it against the emitter's schema and compresses
// it with the event channel's codec (jesus.Encode: one pass), into *bp, which is kept,
// grown, for the next emit.
func (b *Bus) encode(ev *outEvent, payload any, bp *[]byte) ([]byte, error) {
	data, err := jesus.Encode(ev.pl, ev.v, (*bp)[:0], payload)
	if cap(data) <= maxPooledBuf {
		*bp = data[:0]
	}
	if err != nil {
		var ve *schema.ValidationError
		if errors.As(err, &ve) {
			return nil, schemaError(ve, b.self.ID(), ev.name, "the payload fails the event schema of")
		}
		return nil, &jesus.Error{Code: jesus.CodeOf(err), Service: b.self.ID(), Method: ev.name,
			Message: fmt.Sprintf("events: payload (%s): %s", ev.pl.Name(), jesus.AsError(err).Message)}
	}
	return data, nil
}

// maxPooledBuf is the largest payload buffer the bus keeps for reuse.
const maxPooledBuf = 64 << 10

// delivery is one event on its way to the listening services.
type delivery struct {
	b      *Bus
	ev     *outEvent
	id     string
	data   []byte
	corrID string
}

// to delivers the event to one listening service, whose wire method is method: once for
// noResponse, with retries until acknowledged or ctx ends for ack.
func (d *delivery) to(ctx context.Context, svc, method string) error {
	b := d.b
	// from and timestamps come from the client; the event's own meta travels as extra
	// entries, in a map that is reused once this delivery ends (Do keeps nothing of it).
	extra, _ := b.extras.Get().(map[string]string)
	if extra == nil {
		extra = make(map[string]string, 4)
	}
	defer func() {
		clear(extra)
		b.extras.Put(extra)
	}()
	extra[ExtraEvent], extra[ExtraID] = d.ev.name, d.id
	req := jesus.Request{Method: method, Mode: d.ev.mode, Codec: d.ev.pl.Name(), Data: d.data, Extra: extra, CorrID: d.corrID}
	var w where
	bo := backoff.Backoff{Min: b.o.backoff, Max: b.o.backoffMax}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			b.st.retries.Add(1)
		}
		route, err := w.next(b.disc, svc, discovery.Want{Channel: d.ev.chName, Transport: d.ev.transport, Codec: d.ev.pl.Name()}, &b.st.rerouted)
		if err == nil {
			req.Route = route
			if d.ev.mode == jesus.ModeNoResponse {
				seq, src := b.nextSeq(route.Instance, d.ev.name)
				extra[ExtraSeq] = strconv.FormatUint(seq, 10)
				extra[ExtraSource] = src
			}
			if d.ev.mode == jesus.ModeAck {
				actx, cancel := context.WithTimeout(ctx, b.o.attempt)
				err = d.send(actx, &req)
				cancel()
			} else {
				err = d.send(ctx, &req)
			}
			if err == nil {
				return nil
			}
		}
		e := jesus.AsError(err).InMethod(method)
		if final := d.final(ctx, svc, method, err, e); final != nil {
			return final
		}
		if route.Spec.Addr != "" && w.failed(ctx, route, e) && (e.Code == jesus.CodeUnavailable || !e.Remote) {
			b.disc.Failed(route, err)
		}
		if err := d.pause(ctx, bo.Next(), svc, method, e); err != nil {
			return err
		}
	}
}

// where chooses the instance of each attempt of one delivery. An attempt that timed out may
// have reached its instance, so the next goes to the same one, whose duplicate suppression
// answers a repeat with an ack; after a second time-out, or any other failure, the next
// attempt avoids that endpoint. A retry that lands on another instance after a failed
// attempt is counted (Stats.Rerouted): the event may be handled at both.
type where struct {
	avoid  string      // the endpoint that failed last, so a retry goes elsewhere
	stay   jesus.Route // set: the next attempt goes here again
	stayed bool        // the last attempt was such a repeat
	tried  jesus.Route // the route of the last failed attempt that had one
}

// next picks the route of the next attempt.
func (w *where) next(disc *discovery.Discovery, svc string, want discovery.Want, rerouted *atomic.Uint64) (jesus.Route, error) {
	if w.stay.Spec.Addr != "" {
		r := w.stay
		w.stay = jesus.Route{}
		return r, nil
	}
	want.Avoid = w.avoid
	r, err := disc.Pick(svc, want)
	if err == nil && w.tried.Spec.Addr != "" && (r.Instance != w.tried.Instance || discovery.EndpointKey(r) != discovery.EndpointKey(w.tried)) {
		rerouted.Add(1)
	}
	return r, err
}

// failed records a failed attempt on route and reports whether it counts against the
// instance (not when it is tried again at once).
func (w *where) failed(ctx context.Context, route jesus.Route, e *jesus.Error) bool {
	w.tried = route
	timedOut := e.Code == jesus.CodeDeadlineExceeded && !e.Remote && ctx.Err() == nil
	if timedOut && !w.stayed {
		w.stay, w.stayed = route, true
		return false
	}
	w.avoid, w.stayed = discovery.EndpointKey(route), false
	return true
}

// final is the error that ends a delivery after the failed attempt err (e, as a
// *jesus.Error), counted in the stats; nil when the delivery is to be tried again.
func (d *delivery) final(ctx context.Context, svc, method string, err error, e *jesus.Error) *jesus.Error {
	b := d.b
	if isTooLarge(err) {
		b.st.oversize.Add(1)
		return e
	}
	if d.ev.mode == jesus.ModeNoResponse {
		b.st.dropped.Add(1)
		return e
	}
	if !retryable(e) || errors.Is(err, discovery.ErrNoInstance) || ctx.Err() != nil {
		// No live instance: the listener is gone from the registry, and waiting for
		// one to come back would only hold the emitter until its deadline.
		b.st.failed.Add(1)
		if ctx.Err() != nil && e.Code != jesus.CodeDeadlineExceeded && e.Code != jesus.CodeCanceled {
			e = &jesus.Error{Code: codeOfContext(ctx.Err()), Method: method,
				Message: fmt.Sprintf("events: no ack from %s before the deadline; last error: %v", svc, e)}
		}
		return e
	}
	return nil
}

// pause sleeps wait before the next attempt; the error (counted as failed) says when the bus
// closed or ctx ended first. last is the error of the last attempt.
func (d *delivery) pause(ctx context.Context, wait time.Duration, svc, method string, last *jesus.Error) error {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-d.b.done:
		d.b.st.failed.Add(1)
		return &jesus.Error{Code: jesus.CodeUnavailable, Method: method,
			Message: fmt.Sprintf("events: the bus closed before %s acknowledged; last error: %v", svc, last)}
	case <-ctx.Done():
		d.b.st.failed.Add(1)
		return &jesus.Error{Code: codeOfContext(ctx.Err()), Method: method,
			Message: fmt.Sprintf("events: no ack from %s before the deadline; last error: %v", svc, last)}
	case <-t.C:
		return nil
	}
}

// send makes one attempt on req.Route, through the bus's jesus client.
func (d *delivery) send(ctx context.Context, req *jesus.Request) error {
	if err := d.b.cli.Do(ctx, req); err != nil {
		return err
	}
	if req.Mode == jesus.ModeAck {
		d.b.st.acked.Add(1)
	} else {
		d.b.st.sent.Add(1)
	}
	return nil
}

// nextSeq returns the next sequence number of the stream to one listening instance, and
// the stream's source id.
func (b *Bus) nextSeq(instance, event string) (uint64, string) {
	b.seqMu.Lock()
	defer b.seqMu.Unlock()
	k := seqKey{instance, event}
	st := b.seqs[k]
	if st == nil {
		if len(b.seqs) >= maxSeqStreams {
			clear(b.seqs)
			b.newSource()
		}
		st = &seqStream{src: *b.src.Load() + "/" + instance}
		b.seqs[k] = st
	}
	st.n++
	return st.n, st.src
}

// retryable reports whether another attempt (maybe on another instance) may succeed.
func retryable(e *jesus.Error) bool {
	switch e.Code {
	case jesus.CodeUnavailable, jesus.CodeDeadlineExceeded, jesus.CodeResourceExhausted, jesus.CodeCanceled, jesus.CodeUnknown:
		return true
	}
	return false
}

func isTooLarge(err error) bool { return errors.Is(err, channel.ErrTooLarge) }

func codeOfContext(err error) jesus.Code {
	if errors.Is(err, context.Canceled) {
		return jesus.CodeCanceled
	}
	return jesus.CodeDeadlineExceeded
}
