package channel

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jesus-go/jesus/channel/codes"
)

// Transport opens client connections and listeners of one kind ("tcp", "unix", "http", "udp").
// A Transport value is stateless and safe for concurrent use.
type Transport interface {
	Name() string
	Caps() Caps
	// Dial returns a client connection (possibly a small pool) to addr. It may connect lazily.
	Dial(ctx context.Context, addr string, cfg Config) (Conn, error)
	// Listen binds addr ("127.0.0.1:0" picks a free port) and returns a listener that
	// serves nothing until Serve is called.
	Listen(ctx context.Context, addr string, cfg Config) (Listener, error)
}

// Caps says what a transport can do; the conformance suite and the jesus layer read it.
type Caps struct {
	Response bool // replies (ack/response) are possible
	Stream   bool // server streams are possible
	Reliable bool // delivery and order are guaranteed by the transport (not udp)
	// MaxMessage is a hard upper bound on an encoded envelope imposed by the transport
	// itself (udp: datagram size), 0 when only Config.MaxMessage applies.
	MaxMessage int
}

// Conn is the client side of a transport to one address. It is safe for concurrent use:
// any number of exchanges may be open at once and are multiplexed where the transport can.
type Conn interface {
	// Open sends req (a TypeRequest; the transport assigns req.ID) and returns the exchange
	// that yields the replies. For ModeNoResponse it returns (nil, nil) once req is handed
	// to the transport; where the transport has one-way flow control (tcp, unix), Open
	// first waits, within ctx, for the receiver's window to have room. ctx bounds sending; for udp ack it also bounds retransmission.
	// Open keeps neither req nor its Meta or Data once it returns: the caller may reuse them.
	Open(ctx context.Context, req *Envelope) (Exchange, error)
	// Close closes every underlying connection; open exchanges fail with ErrClosed.
	// Close is safe to call more than once.
	Close() error
}

// Exchange is one open call on the client side. It is used by one goroutine at a time.
type Exchange interface {
	// Recv returns the next reply: TypeAck, TypeResponse, TypeItem, TypeEnd or TypeError.
	// After a terminal reply (Type.Terminal) it returns io.EOF. Receiving an item returns
	// flow-control credit to the sender. The envelope is valid until the next Recv.
	Recv(ctx context.Context) (*Envelope, error)
	// Close releases the exchange; if no terminal reply arrived yet it tells the receiver
	// to cancel (TypeCancel, or closing the request on http). Safe to call more than once.
	Close() error
}

// Listener is the server side of a transport.
type Listener interface {
	// Addr is the bound address, e.g. "127.0.0.1:43117" or a socket path.
	Addr() string
	// Serve accepts and dispatches requests to h until Shutdown or Close; it then returns
	// ErrClosed. Requests run h.ServeExchange concurrently, bounded by Config.MaxInFlight
	// per connection; over the bound the transport itself replies TypeError with
	// CodeResourceExhausted, except to noResponse requests, which get no reply: tcp and
	// unix hold them within the sender's one-way window (Config.OneWayWindow), and any
	// transport that must refuse one counts it as dropped (OneWayListenerStats). (The transports of this module run handlers on reused
	// goroutines, about GOMAXPROCS at a time while they keep up, more when handlers
	// block.)
	Serve(h Handler) error
	// Shutdown stops accepting connections and new requests (which get CodeUnavailable),
	// waits for running handlers to return, then closes. When ctx ends first it closes
	// hard: handlers' contexts are cancelled and Shutdown returns ctx.Err().
	Shutdown(ctx context.Context) error
	// Close stops everything at once; handlers' contexts are cancelled. Repeat-safe.
	Close() error
}

// Handler serves one incoming request. req (including req.Data) and w belong to the handler
// until it returns; transports may reuse both afterwards. ctx ends when the caller cancels or disconnects, or the listener closes hard.
// The transport does not apply req.Timeout; the layer above does.
type Handler interface {
	ServeExchange(ctx context.Context, req *Envelope, w ReplyWriter)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req *Envelope, w ReplyWriter)

// ServeExchange calls f.
func (f HandlerFunc) ServeExchange(ctx context.Context, req *Envelope, w ReplyWriter) {
	f(ctx, req, w)
}

// ReplyWriter sends replies to one request. Send is not safe for concurrent use. Send
// keeps neither reply nor its Meta or Data once it returns: the caller may reuse them.
type ReplyWriter interface {
	// Send writes one reply (TypeAck, TypeResponse, TypeItem, TypeEnd or TypeError); the
	// transport fills in ID and Mode. For TypeItem it blocks until the caller has granted
	// credit or ctx ends. Replies to a ModeNoResponse request fail with ErrNoReply, but
	// for a TypeError: nothing goes back to the caller as an error, the transport counts
	// the request as dropped (OneWayListenerStats.Dropped, and where the transport can,
	// the sender's OneWayStats.Dropped) and Send returns nil. This is how the layer above
	// says it refused a one-way request (shutting down, invalid, a handler that panicked).
	// After a terminal reply further sends fail with ErrClosed.
	Send(ctx context.Context, reply *Envelope) error
	// Peer is the caller's address as the transport sees it.
	Peer() string
}

// OneWayStats counts the noResponse requests a Conn sent, so that none is lost in
// silence: once nothing is in flight, Sent == Delivered + Dropped + Lost.
type OneWayStats struct {
	Sent      uint64 // noResponse requests handed to the connection
	Delivered uint64 // the receiver confirmed it ran them (handed them to its handler, which took them)
	Dropped   uint64 // the receiver confirmed it did not run them (shutting down, a limit, the handler layer refused)
	Lost      uint64 // the connection ended before the receiver confirmed them: they may or may not have run
}

// OneWayCounter is implemented by Conns that count their noResponse requests (an
// optional ability, found by type assertion). A transport that cannot learn the
// receiver's verdict (udp) counts what it could not send as Lost and leaves Delivered 0.
type OneWayCounter interface {
	OneWayStats() OneWayStats
}

// OneWayListenerStats counts the noResponse requests a Listener read.
type OneWayListenerStats struct {
	Received uint64 // noResponse requests read from callers
	Dropped  uint64 // of those, not run: refused by the transport (draining, a limit) or by the handler (a TypeError reply)
}

// OneWayListenerCounter is implemented by Listeners that count noResponse requests (an
// optional ability, found by type assertion).
type OneWayListenerCounter interface {
	OneWayListenerStats() OneWayListenerStats
}

// Error codes the channel layer itself puts on the wire in TypeError replies, as the
// strings of Envelope.ErrCode. The set is defined once, in package codes.
const (
	CodeInvalidArgument   = string(codes.InvalidArgument)
	CodeResourceExhausted = string(codes.ResourceExhausted)
	CodeUnavailable       = string(codes.Unavailable)
	CodeUnimplemented     = string(codes.Unimplemented)
	CodeInternal          = string(codes.Internal)
	CodeDeadlineExceeded  = string(codes.DeadlineExceeded)
)

// Errors of the channel layer. Transports wrap them with details (sizes, addresses).
var (
	ErrClosed      = errors.New("channel: closed")
	ErrNoReply     = errors.New("channel: no reply allowed in noResponse mode")
	ErrTooLarge    = errors.New("channel: message too large")
	ErrUnsupported = errors.New("channel: not supported by this transport")
	ErrOverloaded  = errors.New("channel: too many requests in flight")
)

// TooLargeError says how large a message was, the limit, and what to do instead.
type TooLargeError struct {
	Size, Limit int
	Where       string // e.g. "udp datagram", "tcp frame", "http body"
	Hint        string // e.g. "use a tcp or http channel for large messages"
}

func (e *TooLargeError) Error() string {
	s := fmt.Sprintf("channel: %s of %d bytes exceeds the limit of %d bytes", e.Where, e.Size, e.Limit)
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// Unwrap makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Unwrap() error { return ErrTooLarge }

// Config holds the limits and timeouts of a transport. Every field has a safe default
// (DefaultConfig); zero fields are filled from it by WithDefaults.
type Config struct {
	MaxMessage      int           // max encoded envelope, checked before allocating (4 MiB)
	MaxInFlight     int           // max concurrent requests per connection (1024)
	MaxPendingBytes int           // max memory held by queued outbound frames per connection (their buffers' capacity) before it is dropped as a slow reader (16 MiB)
	WriteTimeout    time.Duration // max time one write may block (10 s)
	DialTimeout     time.Duration // max time to connect (5 s)
	StreamWindow    int           // stream items the caller lets the sender have in flight (64)
	OneWayWindow    int           // framed: one-way credit a server grants per connection; a noResponse request costs 1 + size/4 KiB (1024)
	PoolSize        int           // client connections per address on framed transports (2)
	KeepAlive       time.Duration // ping interval on idle framed connections; <0 disables (30 s)
	FrameTimeout    time.Duration // framed: max time from a frame's header to its last byte, so a partial frame is not held for long (20 s)

	// MemoryBudget bounds what a listener holds for all its peers together: connections'
	// buffers, frames and bodies being read, queued replies (DefaultMemoryBudget: a quarter
	// of GOMEMLIMIT when set, else 128 MiB). Budget, when set, is shared instead (e.g. by
	// every listener of one server) and MemoryBudget is ignored.
	MemoryBudget int64
	Budget       *Budget
	MaxConns     int // connections per listener (framed, http); more are closed at once (1024)

	ReadHeaderTimeout time.Duration // http (10 s)
	ReadTimeout       time.Duration // http, whole request body (20 s)
	IdleTimeout       time.Duration // http keep-alive idle (30 s)
	MaxHeaderBytes    int           // http (64 KiB)

	MaxDatagram   int           // udp payload bytes (1400, under common MTUs; max 65507)
	RetryInterval time.Duration // udp ack mode: first retransmission delay, doubling (50 ms)
	DedupWindow   time.Duration // udp: how long a receiver remembers an exchange for duplicate suppression (1 min)

	// TLS, when set, makes tcp, unix and http speak TLS: Listen uses it as the server
	// config and Dial as the client config (an empty ServerName becomes the host of the
	// address). Package channel/tlsconf builds one for both roles from files and reloads
	// it. nil: plaintext. udp ignores it.
	TLS *tls.Config

	Logger *slog.Logger // nil: discard
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		MaxMessage:        4 << 20,
		MaxInFlight:       1024,
		MaxPendingBytes:   16 << 20,
		WriteTimeout:      10 * time.Second,
		DialTimeout:       5 * time.Second,
		StreamWindow:      64,
		OneWayWindow:      1024,
		PoolSize:          2,
		KeepAlive:         30 * time.Second,
		FrameTimeout:      20 * time.Second,
		MemoryBudget:      DefaultMemoryBudget(),
		MaxConns:          1024,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       20 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    64 << 10,
		MaxDatagram:       1400,
		RetryInterval:     50 * time.Millisecond,
		DedupWindow:       time.Minute,
		Logger:            slog.New(slog.DiscardHandler),
	}
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	orDefault(&c.MaxMessage, d.MaxMessage)
	orDefault(&c.MaxInFlight, d.MaxInFlight)
	orDefault(&c.MaxPendingBytes, d.MaxPendingBytes)
	orDefault(&c.WriteTimeout, d.WriteTimeout)
	orDefault(&c.DialTimeout, d.DialTimeout)
	orDefault(&c.StreamWindow, d.StreamWindow)
	orDefault(&c.OneWayWindow, d.OneWayWindow)
	orDefault(&c.PoolSize, d.PoolSize)
	orDefault(&c.KeepAlive, d.KeepAlive)
	orDefault(&c.FrameTimeout, d.FrameTimeout)
	orDefault(&c.MemoryBudget, d.MemoryBudget)
	orDefault(&c.MaxConns, d.MaxConns)
	orDefault(&c.ReadHeaderTimeout, d.ReadHeaderTimeout)
	orDefault(&c.ReadTimeout, d.ReadTimeout)
	orDefault(&c.IdleTimeout, d.IdleTimeout)
	orDefault(&c.MaxHeaderBytes, d.MaxHeaderBytes)
	orDefault(&c.MaxDatagram, d.MaxDatagram)
	orDefault(&c.RetryInterval, d.RetryInterval)
	orDefault(&c.DedupWindow, d.DedupWindow)
	orDefault(&c.Logger, d.Logger)
	return c
}

// orDefault sets *v to def where *v is the zero value.
func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Validate reports a config that cannot work.
func (c Config) Validate() error {
	switch {
	case c.MaxMessage < 64:
		return fmt.Errorf("channel: MaxMessage %d is below 64 bytes", c.MaxMessage)
	case c.MaxMessage > 1<<30:
		return fmt.Errorf("channel: MaxMessage %d is above 1 GiB", c.MaxMessage)
	case c.MaxInFlight < 1:
		return fmt.Errorf("channel: MaxInFlight %d must be at least 1", c.MaxInFlight)
	case c.StreamWindow < 1:
		return fmt.Errorf("channel: StreamWindow %d must be at least 1", c.StreamWindow)
	case c.OneWayWindow < 1 || c.OneWayWindow > 1<<20:
		return fmt.Errorf("channel: OneWayWindow %d is outside 1..1048576", c.OneWayWindow)
	case c.PoolSize < 1:
		return fmt.Errorf("channel: PoolSize %d must be at least 1", c.PoolSize)
	case c.MaxDatagram < 64 || c.MaxDatagram > 65507:
		return fmt.Errorf("channel: MaxDatagram %d is outside 64..65507", c.MaxDatagram)
	case c.Budget == nil && c.MemoryBudget < int64(c.MaxMessage):
		return fmt.Errorf("channel: MemoryBudget %d is below MaxMessage %d: a message of the maximum size could never be read", c.MemoryBudget, c.MaxMessage)
	case c.Budget != nil && c.Budget.Limit() < int64(c.MaxMessage):
		return fmt.Errorf("channel: Budget of %d bytes is below MaxMessage %d: a message of the maximum size could never be read", c.Budget.Limit(), c.MaxMessage)
	case c.MaxConns < 1:
		return fmt.Errorf("channel: MaxConns %d must be at least 1", c.MaxConns)
	case c.MaxPendingBytes < c.MaxMessage:
		return fmt.Errorf("channel: MaxPendingBytes %d is below MaxMessage %d", c.MaxPendingBytes, c.MaxMessage)
	}
	return nil
}
