package jesus

import (
	"log/slog"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/framed"
	"github.com/jesus-go/jesus/channel/httpchan"
	"github.com/jesus-go/jesus/channel/udpchan"
	"github.com/jesus-go/jesus/codec"
)

// DefaultTransports returns a new set with tcp, unix, http and udp.
func DefaultTransports() channel.Set {
	return channel.Set{
		"tcp":  framed.TCP(),
		"unix": framed.Unix(),
		"http": httpchan.New(),
		"udp":  udpchan.New(),
	}
}

// common holds what clients and servers share.
type common struct {
	codecs     *codec.Registry
	transports channel.Set
	cfg        channel.Config
	logger     *slog.Logger
	validation Validation
	intercept  []Interceptor
	seal       *sealing // nil: no sealed channels
	tlsAll     bool     // WithTLSEverywhere: TLS to routes without "+tls" too
}

func (c *common) fill() {
	if c.codecs == nil {
		c.codecs = codec.NewRegistry(codec.DefaultLimits())
	}
	if c.transports == nil {
		c.transports = DefaultTransports()
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.cfg.Logger == nil {
		c.cfg.Logger = c.logger
	}
	c.cfg = c.cfg.WithDefaults()
}

// Option configures a Client or a Server.
type Option interface {
	applyServer(*serverOptions)
	applyClient(*clientOptions)
}

type commonOption func(*common)

func (o commonOption) applyServer(s *serverOptions) { o(&s.common) }
func (o commonOption) applyClient(c *clientOptions) { o(&c.common) }

// WithCodecs sets the codec registry (default: codec.NewRegistry(codec.DefaultLimits())).
func WithCodecs(r *codec.Registry) Option { return commonOption(func(c *common) { c.codecs = r }) }

// WithTransports sets the transports (default: DefaultTransports()).
func WithTransports(s channel.Set) Option { return commonOption(func(c *common) { c.transports = s }) }

// WithChannelConfig sets the limits and timeouts of the transports; zero fields keep their defaults.
func WithChannelConfig(cfg channel.Config) Option {
	return commonOption(func(c *common) { c.cfg = cfg })
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return commonOption(func(c *common) { c.logger = l }) }

// WithValidation makes every message checked against schemas: see Validation.
func WithValidation(v Validation) Option {
	return commonOption(func(c *common) { c.validation = v })
}

// WithInterceptors adds interceptors to a Client or a Server; the first added runs
// outermost. See Interceptor.
func WithInterceptors(ics ...Interceptor) Option {
	return commonOption(func(c *common) { c.intercept = append(c.intercept, ics...) })
}

type serverOptions struct {
	common
	maxConcurrent int
	journal       Journal
}

type clientOptions struct {
	common
	resolver Resolver
}

type serverOption func(*serverOptions)

func (o serverOption) applyServer(s *serverOptions) { o(s) }
func (o serverOption) applyClient(*clientOptions)   {}

// WithMaxConcurrent caps the calls a server runs at once over all its channels (default
// 4096). A request over the cap is refused with resource_exhausted, never queued.
func WithMaxConcurrent(n int) Option {
	return serverOption(func(s *serverOptions) { s.maxConcurrent = n })
}

type clientOption func(*clientOptions)

func (o clientOption) applyServer(*serverOptions)   {}
func (o clientOption) applyClient(c *clientOptions) { o(c) }

// WithTarget sends every call to one channel, e.g. "tcp+msgpack+zstd://127.0.0.1:4100".
func WithTarget(spec string) Option {
	return clientOption(func(c *clientOptions) { c.resolver = newStaticTarget(spec) })
}

// WithResolver sets how a client finds the channel of a method (e.g. from the registry).
func WithResolver(r Resolver) Option {
	return clientOption(func(c *clientOptions) { c.resolver = r })
}
