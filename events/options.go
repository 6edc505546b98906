package events

import (
	"log/slog"
	"time"

	"github.com/jesus-go/jesus/jesus"
)

// Option configures a Bus.
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

type options struct {
	logger       *slog.Logger
	timeout      time.Duration
	attempt      time.Duration
	parallel     int
	backoff      time.Duration
	backoffMax   time.Duration
	hold         time.Duration
	dedupWindow  time.Duration
	dedupEntries int
	tailBuffer   int
	outboxPath   string
	outboxAge    time.Duration
	outboxEvery  time.Duration
	intercept    []jesus.Interceptor // intercept.go
}

func defaults() options {
	return options{
		timeout:      10 * time.Second,
		attempt:      2 * time.Second,
		parallel:     16,
		backoff:      50 * time.Millisecond,
		backoffMax:   time.Second,
		hold:         2 * time.Second,
		dedupWindow:  10 * time.Minute,
		dedupEntries: 100_000,
		tailBuffer:   256,
		outboxEvery:  time.Second,
	}
}

func (o *options) fill() {
	d := defaults()
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	o.timeout = positiveOr(o.timeout, d.timeout)
	o.attempt = positiveOr(o.attempt, d.attempt)
	o.parallel = positiveOr(o.parallel, d.parallel)
	o.backoff = positiveOr(o.backoff, d.backoff)
	if o.backoffMax < o.backoff {
		o.backoffMax = max(d.backoffMax, o.backoff)
	}
	o.hold = positiveOr(o.hold, d.hold)
	o.dedupWindow = positiveOr(o.dedupWindow, d.dedupWindow)
	o.dedupEntries = positiveOr(o.dedupEntries, d.dedupEntries)
	o.tailBuffer = positiveOr(o.tailBuffer, d.tailBuffer)
	o.outboxEvery = positiveOr(o.outboxEvery, d.outboxEvery)
}

// positiveOr is v, or def when v is zero or negative (an unset option).
func positiveOr[T ~int | ~int64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// WithLogger sets the logger of the bus's own warnings (dropped events with bad meta,
// outbox entries gone to the dead letters) and, at debug level, of the outbox's failed
// delivery attempts (default: discard). Connections, codecs and limits are the jesus
// client's and server's.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(o *options) { o.logger = l }) }

// WithTimeout bounds an Emit of an ack event whose context has no deadline (default 10 s):
// it is retried until then. noResponse events do not wait for anything.
func WithTimeout(d time.Duration) Option { return optionFunc(func(o *options) { o.timeout = d }) }

// WithAttemptTimeout bounds one delivery attempt of an ack event (default 2 s): an
// instance that does not answer by then is left for another.
func WithAttemptTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) { o.attempt = d })
}

// WithMaxParallel caps how many listening services one Emit sends to at once (default 16).
func WithMaxParallel(n int) Option { return optionFunc(func(o *options) { o.parallel = n }) }

// WithBackoff sets the first pause between retries of an ack event and its cap (default
// 50 ms doubling up to 1 s).
func WithBackoff(first, max time.Duration) Option {
	return optionFunc(func(o *options) { o.backoff, o.backoffMax = first, max })
}

// WithDedup sets the listener's duplicate-suppression window and the most event ids it
// remembers (default 10 min, 100000 ids). At the bound the oldest ids are forgotten early.
func WithDedup(window time.Duration, entries int) Option {
	return optionFunc(func(o *options) { o.dedupWindow, o.dedupEntries = window, entries })
}

// WithTailBuffer sets the buffer of each Tail channel (default 256 records); a tail that
// falls further behind loses records (Stats.TailDropped).
func WithTailBuffer(n int) Option { return optionFunc(func(o *options) { o.tailBuffer = n }) }

// WithOutboxRetry sets the first pause between delivery rounds of the outbox (default
// 1 s, growing with jitter up to 30 times that while nothing gets through).
func WithOutboxRetry(d time.Duration) Option {
	return optionFunc(func(o *options) { o.outboxEvery = d })
}
