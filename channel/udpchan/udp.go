package udpchan

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// Defaults of the duplicate-suppression table; see WithDedupLimits.
const (
	DefaultDedupEntries = 16384
	DefaultDedupBytes   = 8 << 20
)

// maxBackoff caps the doubling retransmission interval of ack mode (unless
// Config.RetryInterval is itself larger).
const maxBackoff = time.Second

// Hint is the advice a *channel.TooLargeError of this transport carries.
const Hint = "use a tcp or http channel for messages this large"

// errModes explains why response and stream mode are refused.
const errModes = "udp carries noResponse and ack only; response and stream need tcp, unix or http"

// Option adjusts the transport returned by New.
type Option func(*options)

type options struct {
	dedupEntries int
	dedupBytes   int
}

// WithDedupLimits bounds the receiver's duplicate-suppression table: at most entries
// answered exchanges and bytes bytes of cached replies are remembered (requests whose
// handler is still running are bounded by Config.MaxInFlight instead). At the bound
// the oldest answered exchange is forgotten before its DedupWindow ends, and counted in
// Stats.Evicted; a retransmission of it that arrives later reaches the handler again
// (delivery stays at-least-once). Values below 1 keep the defaults.
func WithDedupLimits(entries, bytes int) Option {
	return func(o *options) {
		if entries > 0 {
			o.dedupEntries = entries
		}
		if bytes > 0 {
			o.dedupBytes = bytes
		}
	}
}

type transport struct{ opts options }

// New returns the udp transport. Its Caps report no responses, no streams, no
// reliability and MaxMessage of the default Config.MaxDatagram (1400); the limit that
// applies to a Conn or Listener is the Config.MaxDatagram (and Config.MaxMessage, if
// smaller) it was opened with.
func New(opts ...Option) channel.Transport {
	t := &transport{opts: options{dedupEntries: DefaultDedupEntries, dedupBytes: DefaultDedupBytes}}
	for _, o := range opts {
		o(&t.opts)
	}
	return t
}

func (*transport) Name() string { return "udp" }

func (*transport) Caps() channel.Caps {
	return channel.Caps{MaxMessage: channel.DefaultConfig().MaxDatagram}
}

func (t *transport) Dial(ctx context.Context, addr string, cfg channel.Config) (channel.Conn, error) {
	c, err := Dial(ctx, addr, cfg)
	if err != nil {
		return nil, err // not a nil *Conn in a non-nil interface
	}
	return c, nil
}

func (t *transport) Listen(ctx context.Context, addr string, cfg channel.Config) (channel.Listener, error) {
	l, err := t.listen(ctx, addr, cfg)
	if err != nil {
		return nil, err
	}
	return l, nil
}

func (t *transport) listen(ctx context.Context, addr string, cfg channel.Config) (*Listener, error) {
	return listen(ctx, addr, cfg, t.opts)
}

// Listen binds addr ("127.0.0.1:0" picks a free port) and returns a listener that
// serves nothing until Serve; opts are those of New.
func Listen(ctx context.Context, addr string, cfg channel.Config, opts ...Option) (*Listener, error) {
	return New(opts...).(*transport).listen(ctx, addr, cfg)
}

func config(cfg channel.Config) (channel.Config, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("udpchan: invalid config: %w", err)
	}
	return cfg, nil
}

// limit is the largest datagram this transport sends or accepts under cfg.
func limit(cfg channel.Config) int {
	return min(cfg.MaxDatagram, cfg.MaxMessage)
}

func tooLarge(size, limit int) error {
	return &channel.TooLargeError{Size: size, Limit: limit, Where: "udp datagram", Hint: Hint}
}

// refused reports a send error that only echoes an ICMP port-unreachable for an
// earlier datagram: on udp that is loss, not a failure of this send.
func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// closedErr maps a use of a closed socket to channel.ErrClosed.
func closedErr(op string, err error) error {
	if errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("udpchan: %s: %w", op, channel.ErrClosed)
	}
	return fmt.Errorf("udpchan: %s: %w", op, err)
}
