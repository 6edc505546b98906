package httpchan

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// maxErrorBody bounds the body of an error reply that the client reads.
const maxErrorBody = 64 << 10

// maxDrain is how much of an unwanted body the client reads to keep the connection.
const maxDrain = 4 << 10

type conn struct {
	cfg     channel.Config
	base    string          // scheme://host[/prefix], no trailing slash
	baseURL *url.URL        // base, parsed
	tr      *http.Transport // streams, and every call over https

	ctx    context.Context // parent of every exchange; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // request goroutines
	mu     sync.Mutex
	closed atomic.Bool
	once   sync.Once

	// The client's own path for response, ack and noResponse calls over http (wire.go).
	wire     bool
	dialer   *net.Dialer
	wireTLS  *tls.Config // the client TLS config of wire connections; nil for plaintext
	dialAddr string      // host:port
	basePath string      // the escaped path prefix, no trailing slash
	pool     wirePool

	oneWay oneWayCounts
}

// oneWayCounts counts noResponse requests: handed over, then exactly one of confirmed run
// (2xx), confirmed refused (an error status) or lost (no status came back).
type oneWayCounts struct {
	sent, delivered, dropped, lost atomic.Uint64
}

// OneWayStats implements channel.OneWayCounter. Delivered counts the 204 a server sends
// once it has read a request, before its handler runs: a refusal by the handler layer
// after that is counted by the listener alone (OneWayListenerStats.Dropped).
func (c *conn) OneWayStats() channel.OneWayStats {
	// Read the outcomes before Sent, so that a request in flight never shows as more
	// outcomes than sends.
	delivered, dropped, lost := c.oneWay.delivered.Load(), c.oneWay.dropped.Load(), c.oneWay.lost.Load()
	return channel.OneWayStats{Sent: c.oneWay.sent.Load(), Delivered: delivered, Dropped: dropped, Lost: lost}
}

// settleOneWay counts the outcome of a noResponse request that was handed over.
func (c *conn) settleOneWay(status int, err error) {
	switch {
	case err != nil:
		c.oneWay.lost.Add(1)
	case status >= 200 && status < 300:
		c.oneWay.delivered.Add(1)
	default:
		c.oneWay.dropped.Add(1)
	}
}

func dial(addr string, cfg channel.Config) (*conn, error) {
	base := addr
	if !strings.Contains(addr, "://") {
		base = "http://" + addr
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("httpchan: address %q: %v", addr, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("httpchan: address %q: scheme %q (want http or https)", addr, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("httpchan: address %q has no host", addr)
	}
	d := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	protos := new(http.Protocols)
	protos.SetHTTP1(true) // streams with flow control need HTTP/1.1 full duplex
	tr := &http.Transport{
		DialContext:            d.DialContext,
		MaxIdleConnsPerHost:    256,
		IdleConnTimeout:        cfg.IdleTimeout,
		TLSHandshakeTimeout:    cfg.DialTimeout,
		DisableCompression:     true, // Data stays as sent; the codec layer decompresses
		MaxResponseHeaderBytes: int64(cfg.MaxHeaderBytes),
		WriteBufferSize:        16 << 10,
		ReadBufferSize:         16 << 10,
		Protocols:              protos,
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	wireTLS := withTLS(tr, u, cfg.TLS)
	c := &conn{cfg: cfg, base: u.String(), baseURL: u, tr: tr, wire: u.Scheme == "http" || wireTLS != nil, wireTLS: wireTLS, dialer: d, dialAddr: u.Host, basePath: u.EscapedPath()}
	if u.Port() == "" {
		c.dialAddr = net.JoinHostPort(u.Hostname(), defaultPort(u.Scheme))
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

func (c *conn) Close() error {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed.Store(true)
		c.mu.Unlock()
		c.cancel()
		c.closePool()
		c.wg.Wait()
		c.tr.CloseIdleConnections()
	})
	return nil
}

func (c *conn) errClosed() error {
	return fmt.Errorf("httpchan: connection to %s: %w", c.base, channel.ErrClosed)
}

func (c *conn) Open(ctx context.Context, req *channel.Envelope) (channel.Exchange, error) {
	if c.closed.Load() {
		return nil, c.errClosed()
	}
	if req == nil || req.Type != channel.TypeRequest {
		return nil, errors.New("httpchan: Open needs a request envelope")
	}
	if size := envelopeSize(req, c.cfg.MaxMessage); size > c.cfg.MaxMessage {
		return nil, &channel.TooLargeError{Size: size, Limit: c.cfg.MaxMessage, Where: "http request",
			Hint: "raise MaxMessage on both sides or split the message"}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.wire && req.Mode != channel.ModeStream {
		return c.openWire(ctx, req)
	}
	xctx, xcancel := context.WithCancel(c.ctx)
	x := &exchange{c: c, mode: req.Mode, cancel: xcancel, done: make(chan struct{}), wrote: make(chan error, 1)}
	var hreq *http.Request
	var err error
	if req.Mode == channel.ModeStream {
		hreq, err = x.streamRequest(xctx, req, x.signal)
	} else {
		x.trace.WroteRequest = x.wroteRequest
		hreq, err = c.newRequest(httptrace.WithClientTrace(xctx, &x.trace), req)
	}
	if err != nil {
		xcancel()
		return nil, err
	}
	c.mu.Lock() // orders wg.Add before Close's wg.Wait
	if c.closed.Load() {
		c.mu.Unlock()
		x.abort()
		return nil, c.errClosed()
	}
	c.wg.Add(1)
	c.mu.Unlock()
	if x.lent == nil {
		x.lent, _ = hreq.Body.(*lentBody)
	}
	go x.do(hreq)
	select {
	case err = <-x.wrote:
	case <-x.done:
		err = x.err
	case <-ctx.Done():
		err = ctx.Err()
	}
	x.lent.revoke() // the caller reuses req.Data once Open returns
	if req.Mode == channel.ModeNoResponse {
		x.settleOpen(err == nil)
	}
	if err != nil {
		x.abort()
		if c.closed.Load() {
			return nil, c.errClosed()
		}
		return nil, fmt.Errorf("httpchan: POST %s/%s: %w", c.base, req.Method, unwrapURLError(err))
	}
	if req.Mode == channel.ModeNoResponse {
		return nil, nil
	}
	return x, nil
}

// The states of a noResponse exchange (exchange.owState).
const (
	owPending int32 = iota // neither Open nor do has finished
	owSent                 // Open returned success: the request counts as sent
	owFailed               // Open returned an error: the sender does not count it
	owDone                 // do finished first, with owStatus and owErr
)

// settleOpen records how Open ended for a noResponse request: sent, it is counted and,
// if the request already finished, settled; failed, it is neither.
func (x *exchange) settleOpen(sent bool) {
	state := owFailed
	if sent {
		state = owSent
		x.c.oneWay.sent.Add(1)
	}
	if !x.owState.CompareAndSwap(owPending, state) && sent {
		x.c.settleOneWay(x.owStatus, x.owErr) // do finished first
	}
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// exchange is one HTTP request in flight.
type exchange struct {
	c    *conn
	lent *lentBody // the request's data, until Open returns

	// A noResponse request counts as sent only when Open tells its sender so; its
	// outcome is settled by whichever of Open and do comes second (owState).
	owState  atomic.Int32
	owStatus int
	owErr    error
	mode     channel.Mode
	cancel   context.CancelFunc
	done     chan struct{} // closed when the response headers (or an error) arrived
	resp     *http.Response
	err      error

	wrote chan error // the request is written (nil) or failed
	trace httptrace.ClientTrace

	// stream with flow control
	pw       *io.PipeWriter
	window   int
	consumed int

	fr      *frameReader
	env     channel.Envelope
	started bool
	exchangeEnd
}

// exchangeEnd is how a client exchange (exchange or wireExchange) has ended, if it has.
type exchangeEnd struct {
	finished bool  // the terminal reply was read
	closed   bool  // Close was called
	failed   error // Recv failed with this, and fails with it again
}

// recvErr is the error Recv returns without reading, or nil while the exchange is open.
func (e *exchangeEnd) recvErr() error {
	if e.closed {
		return fmt.Errorf("httpchan: Recv on a closed exchange: %w", channel.ErrClosed)
	}
	if e.finished {
		return io.EOF
	}
	return e.failed
}

func (x *exchange) signal(err error) {
	select {
	case x.wrote <- err:
	default:
	}
}

func (x *exchange) wroteRequest(i httptrace.WroteRequestInfo) { x.signal(i.Err) }

// newRequest is NewRequest against the Conn's base URL, parsed once.
func (c *conn) newRequest(ctx context.Context, e *channel.Envelope) (*http.Request, error) {
	u := *c.baseURL
	u.Path = c.baseURL.Path + "/" + e.Method
	if esc := url.PathEscape(e.Method); esc != e.Method {
		u.RawPath = c.baseURL.EscapedPath() + "/" + esc
	}
	return newRequest(ctx, &u, e)
}

// do runs the request; it owns the response until done is closed. For noResponse it
// also reads and discards the (empty) reply.
func (x *exchange) do(r *http.Request) {
	defer x.c.wg.Done()
	resp, err := x.c.tr.RoundTrip(r)
	if x.mode == channel.ModeNoResponse {
		x.owStatus, x.owErr = 0, err
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
			resp.Body.Close()
			x.owStatus = resp.StatusCode
		}
		if !x.owState.CompareAndSwap(owPending, owDone) && x.owState.Load() == owSent {
			x.c.settleOneWay(x.owStatus, x.owErr)
		}
		x.cancel()
	}
	x.resp, x.err = resp, err
	close(x.done)
}

// streamRequest builds a stream request with flow control: after the data the body goes
// on with u32be grants of items, ended when the exchange ends.
func (x *exchange) streamRequest(ctx context.Context, e *channel.Envelope, signal func(error)) (*http.Request, error) {
	pr, pw := io.Pipe()
	x.pw = pw
	x.window = x.c.cfg.StreamWindow
	body := &streamBody{data: lentBody{data: e.Data}, pr: pr, wrote: signal}
	x.lent = &body.data
	r, err := x.c.newRequest(ctx, &channel.Envelope{Type: e.Type, Mode: e.Mode, Method: e.Method, Timeout: e.Timeout, Codec: e.Codec, Meta: e.Meta})
	if err != nil {
		pw.Close()
		return nil, err
	}
	r.Body = body
	r.GetBody = nil
	r.ContentLength = -1
	r.Header[HeaderStreamWindow] = []string{strconv.Itoa(x.window)}
	r.Header[HeaderDataLength] = []string{strconv.Itoa(len(e.Data))}
	return r, nil
}

// streamBody yields the data, one zero grant (so the headers and data go out at once even
// when the data is empty), then the grants written to the pipe.
type streamBody struct {
	data   lentBody
	zero   int
	pr     *io.PipeReader
	wrote  func(error)
	signal bool
}

func (b *streamBody) Read(p []byte) (int, error) {
	if n, err := b.data.Read(p); n > 0 || err != io.EOF {
		return n, err
	}
	if b.zero < 4 {
		n := copy(p, make([]byte, 4-b.zero))
		b.zero += n
		return n, nil
	}
	if !b.signal {
		b.signal = true
		b.wrote(nil) // the transport flushes each chunk before reading the next
	}
	return b.pr.Read(p)
}

func (b *streamBody) Close() error { return b.pr.Close() }

// abort cancels the request and releases what the exchange holds.
func (x *exchange) abort() {
	x.cancel()
	if x.pw != nil {
		x.pw.CloseWithError(channel.ErrClosed)
	}
}

func (x *exchange) Close() error {
	if x.closed {
		return nil
	}
	x.closed = true
	if !x.finished {
		x.abort()
		return nil
	}
	x.cancel()
	return nil
}

func (x *exchange) Recv(ctx context.Context) (*channel.Envelope, error) {
	if err := x.recvErr(); err != nil {
		return nil, err
	}
	if !x.started {
		select {
		case <-x.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		x.started = true
		if x.err != nil {
			return nil, x.fail(x.err)
		}
	}
	// A blocked body read only ends when the request does: ctx ending ends the exchange.
	stop := func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, x.abort)
	}
	e, err := x.read()
	if !stop() && ctx.Err() != nil {
		x.failed = ctx.Err()
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, x.fail(err)
	}
	return e, nil
}

func (x *exchange) fail(err error) error {
	x.abort()
	if x.resp != nil {
		x.resp.Body.Close()
	}
	switch {
	case x.c.closed.Load():
		err = x.c.errClosed()
	case x.closed:
		err = fmt.Errorf("httpchan: exchange closed: %w", channel.ErrClosed)
	default:
		var tl *channel.TooLargeError
		if !errors.As(err, &tl) {
			err = fmt.Errorf("httpchan: reply from %s: %w", x.c.base, unwrapURLError(err))
		}
	}
	x.failed = err
	return err
}

func (x *exchange) read() (*channel.Envelope, error) {
	resp := x.resp
	e := &x.env
	if x.fr != nil {
		if err := x.fr.next(e); err != nil {
			if err == io.EOF {
				return nil, errors.New("httpchan: stream body ended without an end or error frame")
			}
			return nil, err
		}
		e.Mode, e.ID = x.mode, 0
		if e.Type.Terminal() {
			x.end()
		} else if x.pw != nil {
			x.grant()
		}
		return e, nil
	}
	*e = channel.Envelope{Mode: x.mode}
	stream, err := decodeReply(e, resp.StatusCode, resp.Header, resp.Body, resp.ContentLength, x.c.cfg.MaxMessage)
	if err != nil {
		return nil, err
	}
	if stream {
		x.fr = &frameReader{r: resp.Body, limit: x.c.cfg.MaxMessage}
		return x.read()
	}
	x.end()
	return e, nil
}

// decodeReply maps the status, headers and body of a non-stream reply onto e (whose Mode is
// set). It reports a stream body, which it leaves unread, with stream true.
func decodeReply(e *channel.Envelope, status int, h http.Header, body io.Reader, clen int64, limit int) (stream bool, err error) {
	switch {
	case status >= 300 || headerValue(h, HeaderErrorCode) != "":
		b, err := readLimited(io.LimitReader(body, maxErrorBody), min(clen, maxErrorBody), maxErrorBody, "http error body")
		if err != nil {
			return false, err
		}
		parseErrorReply(status, h, b, e)
		readMetaOnly(h, e)
	case e.Mode == channel.ModeAck && status != http.StatusAccepted,
		e.Mode == channel.ModeResponse && status != http.StatusOK:
		return false, foreignReply(status, e.Mode)
	case isStream(headerValue(h, "Content-Type")):
		return true, nil
	case status == http.StatusAccepted:
		e.Type = channel.TypeAck
		if rerr := readMetaOnly(h, e); rerr != nil {
			return false, errors.New(rerr.Message)
		}
	default:
		e.Type = channel.TypeResponse
		if rerr := readMetaOnly(h, e); rerr != nil {
			return false, fmt.Errorf("httpchan: reply headers: %s", strings.TrimPrefix(rerr.Message, "httpchan: "))
		}
		// A reply whose media type is not a codec's (e.g. from a proxy) is left to the
		// layer above to reject: Codec "" means the channel's codec.
		e.Codec, _ = codecFromHeaders(h)
		b, err := readLimited(body, clen, limit, "http response body")
		if err != nil {
			return false, err
		}
		e.Data = b
	}
	return false, nil
}

// foreignReply is the error of a success status that is not the one a jesus server sends
// in reply to a request of mode (PROTOCOL.md section 4.2): whoever answered did not run
// the method, e.g. a server that took the address of an instance that is gone, so the
// reply is never taken for an ack or a response.
func foreignReply(status int, mode channel.Mode) error {
	want := http.StatusAccepted
	if mode == channel.ModeResponse {
		want = http.StatusOK
	}
	return fmt.Errorf("%w: httpchan: status %d in reply to a request in %s mode, which a jesus server answers with %d or an error status: whoever answered is not a jesus receiver of the method", channel.ErrMalformed, status, mode, want)
}

func isStream(ct string) bool {
	if ct == StreamContentType {
		return true
	}
	mt, _ := mediaType(ct)
	return mt == StreamContentType
}

// end finishes the exchange after its terminal reply: it ends the credit stream and reads
// the body to its end so that the connection can carry the next request.
func (x *exchange) end() {
	x.finished = true
	if x.pw != nil {
		x.pw.Close()
	}
	io.Copy(io.Discard, io.LimitReader(x.resp.Body, maxDrain))
	x.resp.Body.Close()
	x.cancel() // the connection is back in the pool (or closed); release the context
}

// grant returns credit for the items read, in batches of half a window.
func (x *exchange) grant() {
	x.consumed++
	if x.consumed < max(1, x.window/2) {
		return
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(x.consumed))
	x.consumed = 0
	x.pw.Write(b[:]) // fails only once the request is over, which the next read reports
}
