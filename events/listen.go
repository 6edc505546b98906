package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
)

// Event is one event as a handler sees it.
type Event[T any] struct {
	Name    string    // the event name, e.g. "order.created"
	ID      string    // the event id, the same for every listening service
	From    string    // the emitting service
	CorrID  string    // the correlation id of the emit
	At      time.Time // when it was emitted (the emitter's clock)
	Payload T
}

// On registers h as this service's handler of event, which self must declare under
// listens, on the bus's server as method "<self>.event:<event>". The server checks the
// payload against self's listen schema before it acknowledges (an invalid event is
// refused with invalid_argument naming the listener and every failing pointer, counted
// in Stats.Invalid) and decodes it into T. h runs once per event id within the dedup
// window; its ctx carries the incoming message, so calls and emits made with it pass the
// corrid on. An error h returns is logged by the server and counted in
// Stats.HandlerErrors; it does not make the emitter retry (the ack was already sent).
// Register handlers before the server is registered in the registry.
func On[T any](b *Bus, event string, h func(ctx context.Context, ev Event[T]) error) error {
	if b.srv == nil {
		return fmt.Errorf("events: %s: On needs a bus with a server", b.self.ID())
	}
	if _, ok := b.self.Listens[event]; !ok {
		return fmt.Errorf("events: %s does not listen to %q: declare it under listens", b.self.ID(), event)
	}
	v, err := b.set.Validator(b.self.Service, b.self.Version, schema.PartListenPayload, event)
	if err != nil {
		return fmt.Errorf("events: %s listen %q: payload schema: %w", b.self.ID(), event, err)
	}
	var check jesus.Validator // nil: the listen schema accepts anything
	if v != nil {
		check = counting{jesus.SchemaValidator(v), &b.st.invalid}
	}
	b.onMu.Lock()
	defer b.onMu.Unlock()
	if b.on[event] {
		return fmt.Errorf("events: %s already has a handler of %q", b.self.ID(), event)
	}
	b.on[event] = true
	jesus.HandleOneWay(b.srv, WireMethod(b.self.Service, event), func(ctx context.Context, p T) error {
		in := ctx.Value(incomingKey{}).(*incoming)
		ev := Event[T]{Name: event, ID: in.id, From: in.from, CorrID: in.corrID, At: in.at, Payload: p}
		if b.tails.active() {
			b.tail(*in, p)
		}
		if err := h(ctx, ev); err != nil {
			b.st.handlerErrors.Add(1)
			return err
		}
		return nil
	}, jesus.CheckRequests(check), jesus.Unlisted(), jesus.WithHandlerInterceptors(listenInterceptor{b, event}))
	return nil
}

// incoming is the meta of one received event.
type incoming struct {
	event, id, from, corrID string
	at                      time.Time
	seq                     uint64
	src                     string
}

type incomingKey struct{}

// listenInterceptor runs around every event handler of a bus, after the payload passed
// the listen schema (and, for ack events, after the ack): it reads the event's meta,
// counts the event, suppresses duplicates and passes the meta on in the context.
type listenInterceptor struct {
	b     *Bus
	event string
}

func (l listenInterceptor) WrapUnary(next jesus.UnaryFunc) jesus.UnaryFunc {
	return func(ctx context.Context, call *jesus.Invocation) error {
		in, ok := l.b.accept(call, l.event)
		if !ok {
			return nil
		}
		return next(context.WithValue(ctx, incomingKey{}, &in), call)
	}
}

func (l listenInterceptor) WrapStream(next jesus.StreamFunc) jesus.StreamFunc { return next }

// accept reads the event's meta, counts it, and reports whether the handler should run:
// not for a duplicate or a malformed meta.
func (b *Bus) accept(call *jesus.Invocation, event string) (incoming, bool) {
	in, err := readMeta(call.Meta.Extra, event)
	if err != nil {
		b.st.decodeErrors.Add(1)
		b.o.logger.Warn("events: dropped an event with bad meta", "method", call.Method, "from", call.Meta.From, "corrid", call.Meta.CorrID, "err", err)
		return in, false
	}
	in.from, in.corrID = call.Meta.From, call.Meta.CorrID
	if call.Meta.ReqIn > 0 {
		in.at = time.Unix(0, call.Meta.ReqIn)
	}
	// noResponse events are never retried by the emitter, so only ack events are checked
	// for duplicates (and only they fill the window).
	if call.Mode == jesus.ModeAck && !b.dedup.first(event+"\x00"+in.id, time.Now()) {
		b.st.duplicates.Add(1)
		return in, false
	}
	b.st.received.Add(1)
	if in.seq > 0 && call.Mode == jesus.ModeNoResponse {
		b.streams.arrive(streamKey{in.src, event}, in.seq)
	}
	return in, true
}

// Limits on event meta read from the wire.
const (
	maxIDLen  = 128
	maxSrcLen = 256
	maxSeq    = 1 << 48
)

// readMeta reads the event keys of Meta.Extra (any case: http canonicalises header names).
// The event id is required; seq and src go together.
func readMeta(extra map[string]string, event string) (incoming, error) {
	in := incoming{event: event}
	name, _ := lookup(extra, ExtraEvent)
	if name != "" && name != event {
		return in, fmt.Errorf("events: meta names event %q but the method is for %q", truncate(name), event)
	}
	id, _ := lookup(extra, ExtraID)
	if id == "" || len(id) > maxIDLen {
		return in, fmt.Errorf("events: meta %s: want 1 to %d bytes, got %d", ExtraID, maxIDLen, len(id))
	}
	in.id = id
	seq, hasSeq := lookup(extra, ExtraSeq)
	src, hasSrc := lookup(extra, ExtraSource)
	if hasSeq != hasSrc {
		return in, fmt.Errorf("events: meta %s and %s go together", ExtraSeq, ExtraSource)
	}
	if hasSeq {
		n, err := strconv.ParseUint(seq, 10, 64)
		if err != nil || n == 0 || n > maxSeq {
			return in, fmt.Errorf("events: meta %s %q: want a decimal from 1 to %d", ExtraSeq, truncate(seq), uint64(maxSeq))
		}
		if src == "" || len(src) > maxSrcLen {
			return in, fmt.Errorf("events: meta %s: want 1 to %d bytes, got %d", ExtraSource, maxSrcLen, len(src))
		}
		in.seq, in.src = n, src
	}
	return in, nil
}

func lookup(m map[string]string, key string) (string, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// schemaError turns a schema validation error into an invalid_argument *jesus.Error that
// names the service and every failing pointer.
func schemaError(err error, service, event, what string) *jesus.Error {
	e := &jesus.Error{Code: jesus.CodeInvalidArgument, Service: service, Method: event}
	var ve *schema.ValidationError
	if errors.As(err, &ve) {
		e.Service = ve.Service + "@" + ve.Version
		e.Message = fmt.Sprintf("events: %s %s", what, e.Service)
		for _, f := range ve.Failures {
			e.Failures = append(e.Failures, jesus.Failure{Pointer: f.Pointer, Keyword: f.Keyword, Message: f.Message})
		}
		return e
	}
	e.Message = fmt.Sprintf("events: %s %s: %v", what, service, err)
	return e
}

// Record is one received event as Tail shows it.
type Record struct {
	Event    string          `json:"event"`
	ID       string          `json:"id"`
	From     string          `json:"from"`
	CorrID   string          `json:"corrid"`
	At       time.Time       `json:"at"`       // when it was emitted
	Received time.Time       `json:"received"` // when this bus's handler got it
	Payload  json.RawMessage `json:"payload"`
}

func (b *Bus) tail(in incoming, payload any) {
	raw, err := json.Marshal(payload)
	if err != nil {
		raw, _ = json.Marshal(map[string]string{"error": "payload not representable as JSON: " + err.Error()})
	}
	b.tails.send(Record{Event: in.event, ID: in.id, From: in.from, CorrID: in.corrID, At: in.at, Received: time.Now(), Payload: raw}, &b.st.tailDropped)
}

// Tail returns a channel of every event this bus's handlers accept from now on (after
// duplicate suppression, before the handler runs), and a function that stops the tail
// and closes the channel. The channel is buffered (WithTailBuffer); a reader that falls
// behind loses records, counted in Stats.TailDropped, and never slows delivery. Close of
// the bus closes every tail channel. Stop is safe to call more than once, also after Close.
// A bus that only watches (e.g. a command that prints events) registers On[any] handlers
// that return nil, and reads Tail: payloads of every codec come out as JSON.
func (b *Bus) Tail() (<-chan Record, func()) { return b.tails.add() }
