package events

import (
	"log/slog"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/codec"
	"github.com/jesus-go/jesus/jesus"
)

// Option configures a Bus.
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

type options struct {
	codecs       *codec.Registry
	transports   channel.Set
	cfg          channel.Config
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
	validation   *Validation
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
	}
}

func (o *options) fill() {
	d := defaults()
	if o.codecs == nil {
		o.codecs = codec.NewRegistry(codec.DefaultLimits())
	}
	if o.transports == nil {
		o.transports = jesus.DefaultTransports()
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	if o.cfg.Logger == nil {
		o.cfg.Logger = o.logger
	}
	o.cfg = o.cfg.WithDefaults()
	if o.timeout <= 0 {
		o.timeout = d.timeout
	}
	if o.attempt <= 0 {
		o.attempt = d.attempt
	}
	if o.parallel <= 0 {
		o.parallel = d.parallel
	}
	if o.backoff <= 0 {
		o.backoff = d.backoff
	}
	if o.backoffMax < o.backoff {
		o.backoffMax = max(d.backoffMax, o.backoff)
	}
	if o.hold <= 0 {
		o.hold = d.hold
	}
	if o.dedupWindow <= 0 {
		o.dedupWindow = d.dedupWindow
	}
	if o.dedupEntries <= 0 {
		o.dedupEntries = d.dedupEntries
	}
	if o.tailBuffer <= 0 {
		o.tailBuffer = d.tailBuffer
	}
}

// WithCodecs sets the codec registry used to encode payloads (default:
// codec.NewRegistry(codec.DefaultLimits())).
func WithCodecs(r *codec.Registry) Option { return optionFunc(func(o *options) { o.codecs = r }) }

// WithTransports sets the transports events are sent over (default: jesus.DefaultTransports()).
func WithTransports(s channel.Set) Option {
	return optionFunc(func(o *options) { o.transports = s })
}

// WithChannelConfig sets the limits of the emitter's connections (e.g. MaxDatagram for
// udp); zero fields keep their defaults.
func WithChannelConfig(cfg channel.Config) Option {
	return optionFunc(func(o *options) { o.cfg = cfg })
}

// WithLogger sets the logger (default: discard).
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

// WithServerValidation tells the bus that its server was created with v (see
// NewValidation), so that listeners' payloads are checked before the ack and not again
// in the bus; Stats.Invalid then counts v's refusals.
func WithServerValidation(v *Validation) Option {
	return optionFunc(func(o *options) { o.validation = v })
}
