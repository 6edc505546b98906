package httpchan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jesus-go/jesus/channel/codes"
	"github.com/jesus-go/jesus/codec"

	"github.com/jesus-go/jesus/channel"
)

// Header names of the mapping (PROTOCOL.md, section 4). They are in canonical form.
const (
	HeaderMode         = "Jesus-Mode"
	HeaderTimeout      = "Jesus-Timeout"
	HeaderCodec        = "Jesus-Codec"
	HeaderCorrID       = "Jesus-Corrid"
	HeaderUserID       = "Jesus-Userid"
	HeaderFrom         = "Jesus-From"
	HeaderReqIn        = "Jesus-Req-In"
	HeaderReqOut       = "Jesus-Req-Out"
	HeaderChannel      = "Jesus-Channel"
	HeaderTrace        = "Traceparent"
	HeaderErrorCode    = "Jesus-Error-Code"
	HeaderStreamWindow = "Jesus-Stream-Window"
	HeaderDataLength   = "Jesus-Data-Length"
	HeaderMetaPrefix   = "Jesus-Meta-"

	// StreamContentType is the Content-Type of a stream reply body: frames of
	// length:u32be followed by a binary envelope (channel.AppendEnvelope).
	StreamContentType = "application/vnd.jesus.stream"
)

// MaxTimeout caps Jesus-Timeout; larger values are clamped to it (a value of more than 12
// digits is refused).
const MaxTimeout = 24 * time.Hour

// maxTimeoutDigits bounds the length of a Jesus-Timeout value before parsing.
const maxTimeoutDigits = 12

// StatusCanceled is the status of a call the caller cancelled (nginx's "client closed request").
const StatusCanceled = codes.StatusCanceled

// RequestError is a request the server refuses before running a handler: the HTTP status
// and the error code it answers with, and a message naming the header or limit involved.
type RequestError struct {
	Status  int
	Code    string
	Message string
}

func (e *RequestError) Error() string { return e.Message }

func badRequest(format string, args ...any) *RequestError {
	return &RequestError{Status: http.StatusBadRequest, Code: channel.CodeInvalidArgument, Message: "httpchan: " + fmt.Sprintf(format, args...)}
}

var compressors = map[string]bool{"gzip": true, "zstd": true, "s2": true}

// Shared header value slices of the common values, so that mapping a call does not
// allocate them. net/http only reads the values of a request's or a reply's header.
var (
	modeValues   = [...][]string{nil, {"noResponse"}, {"ack"}, {"response"}, {"stream"}}
	commonValues = map[string][]string{
		"application/json": {"application/json"}, "application/msgpack": {"application/msgpack"},
		"application/octet-stream": {"application/octet-stream"},
		"gzip":                     {"gzip"}, "zstd": {"zstd"}, "s2": {"s2"}, "identity": {"identity"},
	}
)

func headerValues(v string) []string {
	if vs, ok := commonValues[v]; ok {
		return vs
	}
	return []string{v}
}

// codecHeaders returns the Content-Type, Content-Encoding and Jesus-Codec values for a
// codec name. Names the standard headers cannot express travel in Jesus-Codec alone.
func codecHeaders(name string) (ctype, cenc, raw string) {
	if name == "" {
		return "", "", ""
	}
	ser, comp, hasComp := strings.Cut(name, "+")
	ct := codec.MediaType(ser)
	switch {
	case ct == "":
	case !hasComp:
		return ct, "", ""
	case comp == "none":
		return ct, "identity", ""
	case compressors[comp]:
		return ct, comp, ""
	}
	return "application/octet-stream", "", name
}

// codecFromHeaders is the inverse of codecHeaders. An absent Content-Type means the
// channel's default codec ("").
func codecFromHeaders(h http.Header) (string, *RequestError) {
	if raw := headerValue(h, HeaderCodec); raw != "" {
		return raw, nil
	}
	ct := headerValue(h, "Content-Type")
	ce := headerValue(h, "Content-Encoding")
	if ct == "" {
		if ce != "" && ce != "identity" {
			return "", &RequestError{Status: http.StatusUnsupportedMediaType, Code: channel.CodeInvalidArgument,
				Message: fmt.Sprintf("httpchan: Content-Encoding %q without a Content-Type", ce)}
		}
		return "", nil
	}
	mt, err := mediaType(ct)
	if err != nil {
		return "", badRequest("bad Content-Type %q: %v", ct, err)
	}
	ser, ok := codec.SerializerOf(mt)
	if !ok {
		return "", &RequestError{Status: http.StatusUnsupportedMediaType, Code: channel.CodeInvalidArgument,
			Message: fmt.Sprintf("httpchan: unsupported Content-Type %q (want application/json or application/msgpack)", mt)}
	}
	switch ce = strings.ToLower(strings.TrimSpace(ce)); ce {
	case "":
		return ser, nil
	case "identity":
		return ser + "+none", nil
	case "x-gzip":
		return ser + "+gzip", nil
	}
	if !compressors[ce] {
		return "", &RequestError{Status: http.StatusUnsupportedMediaType, Code: channel.CodeInvalidArgument,
			Message: fmt.Sprintf("httpchan: unsupported Content-Encoding %q (want gzip, zstd, s2 or identity)", ce)}
	}
	return ser + "+" + ce, nil
}

// mediaType is the media type of a Content-Type value, lower case, without parameters. The
// common bare lower-case type is taken as it is; others go through mime.ParseMediaType.
func mediaType(ct string) (string, error) {
	slash := -1
	for i := 0; i < len(ct); i++ {
		c := ct[i]
		switch {
		case c == '/' && slash < 0 && i > 0:
			slash = i
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '.', c == '-', c == '+':
		default:
			mt, _, err := mime.ParseMediaType(ct)
			return mt, err
		}
	}
	if slash < 0 || slash == len(ct)-1 {
		mt, _, err := mime.ParseMediaType(ct)
		return mt, err
	}
	return ct, nil
}

// headerValue is h.Get for canonical keys without re-canonicalising.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// checkValue refuses strings that HTTP cannot carry unchanged in a header value.
func checkValue(field, v string) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return fmt.Errorf("httpchan: %s contains control byte 0x%02x at offset %d, which an HTTP header cannot carry", field, c, i)
		}
	}
	if v != "" && (v[0] == ' ' || v[len(v)-1] == ' ') {
		return fmt.Errorf("httpchan: %s %q has leading or trailing spaces, which HTTP drops", field, v)
	}
	return nil
}

func isTokenChar(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// headerSink receives the header fields of a request or reply: an http.Header (mapHeader)
// or the bytes of a request head (wireHead). Keys are canonical.
type headerSink interface {
	set(key, value string)
	setInt(key string, v int64)
}

// mapHeader writes into an http.Header.
type mapHeader http.Header

func (h mapHeader) set(key, value string) { h[key] = headerValues(value) }

func (h mapHeader) setInt(key string, v int64) { h[key] = []string{strconv.FormatInt(v, 10)} }

// writeMeta puts m and the headers of codec into h. Values that HTTP cannot carry are refused.
func writeMeta(h http.Header, codec string, m *channel.Meta) error {
	ct, _, _ := codecHeaders(codec)
	if ct == "" {
		h["Content-Type"] = nil // no Content-Type: the channel's codec; nil stops net/http sniffing one
	}
	return appendMeta(mapHeader(h), codec, m)
}

// appendMeta puts m and the headers of codec into h, refusing values HTTP cannot carry.
func appendMeta(h headerSink, codec string, m *channel.Meta) error {
	ct, ce, raw := codecHeaders(codec)
	if ct != "" {
		h.set("Content-Type", ct)
	}
	if ce != "" {
		h.set("Content-Encoding", ce)
	}
	if raw != "" {
		if err := checkValue("codec", raw); err != nil {
			return err
		}
		h.set(HeaderCodec, raw)
	}
	for _, f := range [...]struct {
		key, name, v string
	}{
		{HeaderCorrID, "meta corrid", m.CorrID},
		{HeaderUserID, "meta userid", m.UserID},
		{HeaderFrom, "meta from", m.From},
		{HeaderChannel, "meta channel", m.Channel},
		{HeaderTrace, "meta trace", m.Trace},
	} {
		if f.v == "" {
			continue
		}
		if err := checkValue(f.name, f.v); err != nil {
			return err
		}
		h.set(f.key, f.v)
	}
	if m.ReqIn != 0 {
		h.setInt(HeaderReqIn, m.ReqIn)
	}
	if m.ReqOut != 0 {
		h.setInt(HeaderReqOut, m.ReqOut)
	}
	if len(m.Extra) > channel.MaxExtra {
		return fmt.Errorf("httpchan: %d extra meta entries exceed the limit of %d", len(m.Extra), channel.MaxExtra)
	}
	for k, v := range m.Extra {
		if k == "" {
			return errors.New("httpchan: empty extra meta key")
		}
		for i := 0; i < len(k); i++ {
			if !isTokenChar(k[i]) {
				return fmt.Errorf("httpchan: extra meta key %q: byte 0x%02x is not allowed in an HTTP header name", k, k[i])
			}
		}
		if err := checkValue("extra meta "+strconv.Quote(k), v); err != nil {
			return err
		}
		h.set(http.CanonicalHeaderKey(HeaderMetaPrefix+k), v)
	}
	return nil
}

// readMeta fills codec and meta of e from h.
func readMeta(h http.Header, e *channel.Envelope) *RequestError {
	codec, rerr := codecFromHeaders(h)
	if rerr != nil {
		return rerr
	}
	e.Codec = codec
	return readMetaOnly(h, e)
}

// readMetaOnly fills the meta of e from h.
func readMetaOnly(h http.Header, e *channel.Envelope) *RequestError {
	m := &e.Meta
	m.CorrID = headerValue(h, HeaderCorrID)
	m.UserID = headerValue(h, HeaderUserID)
	m.From = headerValue(h, HeaderFrom)
	m.Channel = headerValue(h, HeaderChannel)
	m.Trace = headerValue(h, HeaderTrace)
	for _, f := range [...]struct {
		key string
		dst *int64
	}{{HeaderReqIn, &m.ReqIn}, {HeaderReqOut, &m.ReqOut}} {
		v := headerValue(h, f.key)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return badRequest("header %s: %q is not a decimal int64 of Unix nanoseconds", f.key, truncate(v))
		}
		*f.dst = n
	}
	for k, vs := range h {
		if len(k) <= len(HeaderMetaPrefix) || !strings.EqualFold(k[:len(HeaderMetaPrefix)], HeaderMetaPrefix) {
			continue
		}
		if m.Extra == nil {
			m.Extra = make(map[string]string, 2)
		}
		if len(m.Extra) >= channel.MaxExtra {
			return badRequest("more than %d %s* headers", channel.MaxExtra, HeaderMetaPrefix)
		}
		key := http.CanonicalHeaderKey(k)[len(HeaderMetaPrefix):]
		if len(vs) > 0 {
			m.Extra[key] = vs[0]
		} else {
			m.Extra[key] = ""
		}
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

// parseMode reads Jesus-Mode; absent means response.
func parseMode(h http.Header) (channel.Mode, *RequestError) {
	v := headerValue(h, HeaderMode)
	if v == "" {
		return channel.ModeResponse, nil
	}
	for m := channel.ModeNoResponse; m <= channel.ModeStream; m++ {
		if strings.EqualFold(v, m.String()) {
			return m, nil
		}
	}
	return 0, badRequest("header %s: unknown mode %q (want noResponse, ack, response or stream)", HeaderMode, truncate(v))
}

// parseTimeout reads Jesus-Timeout: a decimal count of milliseconds, 0 or absent for none,
// clamped to MaxTimeout; a value of more than maxTimeoutDigits digits is refused.
func parseTimeout(h http.Header) (time.Duration, *RequestError) {
	v := headerValue(h, HeaderTimeout)
	if v == "" {
		return 0, nil
	}
	if len(v) > maxTimeoutDigits {
		return 0, badRequest("header %s: %q has more than %d digits (milliseconds, at most %d)", HeaderTimeout, truncate(v), maxTimeoutDigits, MaxTimeout.Milliseconds())
	}
	ms, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, badRequest("header %s: %q is not a decimal count of milliseconds", HeaderTimeout, truncate(v))
	}
	d := time.Duration(ms) * time.Millisecond
	if ms > uint64(MaxTimeout.Milliseconds()) {
		d = MaxTimeout
	}
	return d, nil
}

func formatTimeout(d time.Duration) string {
	return string(appendTimeout(nil, d))
}

// appendTimeout appends the Jesus-Timeout value of d.
func appendTimeout(dst []byte, d time.Duration) []byte {
	if d > MaxTimeout {
		d = MaxTimeout
	}
	ms := (d + time.Millisecond - 1) / time.Millisecond // a positive timeout never rounds to "none"
	return strconv.AppendInt(dst, int64(ms), 10)
}

// methodFromPath returns the method named by the request path "/<path-escaped method>".
func methodFromPath(u *url.URL) (string, *RequestError) {
	p := u.EscapedPath()
	if !strings.HasPrefix(p, "/") {
		return "", badRequest("path %q does not start with /", truncate(p))
	}
	m, err := url.PathUnescape(p[1:])
	if err != nil {
		return "", badRequest("path %q: %v", truncate(p), err)
	}
	if m == "" {
		return "", &RequestError{Status: http.StatusNotFound, Code: string(codes.NotFound), Message: "httpchan: no method in path \"/\" (want POST /<method>)"}
	}
	return m, nil
}

// parseHead maps the request line and headers of r to a TypeRequest envelope without
// reading the body.
func parseHead(r *http.Request) (*channel.Envelope, *RequestError) {
	e := new(channel.Envelope)
	if rerr := parseHeadInto(r, e); rerr != nil {
		return nil, rerr
	}
	return e, nil
}

// parseHeadInto is parseHead into an envelope the caller owns (zero, or reset by it).
func parseHeadInto(r *http.Request, e *channel.Envelope) *RequestError {
	if r.Method != http.MethodPost {
		return &RequestError{Status: http.StatusMethodNotAllowed, Code: string(codes.Unimplemented),
			Message: fmt.Sprintf("httpchan: method %s not allowed (want POST /<method>)", truncate(r.Method))}
	}
	if r.URL == nil {
		return badRequest("request without URL")
	}
	method, rerr := methodFromPath(r.URL)
	if rerr != nil {
		return rerr
	}
	e.Type, e.Method = channel.TypeRequest, method
	if e.Mode, rerr = parseMode(r.Header); rerr != nil {
		return rerr
	}
	if e.Timeout, rerr = parseTimeout(r.Header); rerr != nil {
		return rerr
	}
	return readMeta(r.Header, e)
}

func tooLargeBody(size int64, limit int) *RequestError {
	err := &channel.TooLargeError{Size: int(min(size, 1<<62)), Limit: limit, Where: "http request body"}
	return &RequestError{Status: http.StatusRequestEntityTooLarge, Code: channel.CodeResourceExhausted, Message: "httpchan: " + err.Error()}
}

// readBody reads a request body of at most limit bytes. n is the declared length (-1: unknown).
func readBody(body io.Reader, n int64, limit int) ([]byte, *RequestError) {
	return readBodyInto(nil, body, n, limit)
}

// readBodyInto is readBody into dst's capacity when it is large enough.
func readBodyInto(dst []byte, body io.Reader, n int64, limit int) ([]byte, *RequestError) {
	b, err := readLimitedInto(dst, body, n, limit, "http request body")
	if err != nil {
		var tl *channel.TooLargeError
		if errors.As(err, &tl) {
			return nil, &RequestError{Status: http.StatusRequestEntityTooLarge, Code: channel.CodeResourceExhausted, Message: "httpchan: " + tl.Error()}
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLargeBody(int64(limit)+1, limit)
		}
		return nil, badRequest("reading the request body: %v", err)
	}
	return b, nil
}

// readLimited reads all of r, at most limit bytes (a *channel.TooLargeError past it). n is
// the declared length, -1 when unknown; the buffer never grows past what has arrived.
func readLimited(r io.Reader, n int64, limit int, where string) ([]byte, error) {
	return readLimitedInto(nil, r, n, limit, where)
}

// readLimitedInto is readLimited into dst's capacity (from dst[:0]) when it is enough.
func readLimitedInto(dst []byte, r io.Reader, n int64, limit int, where string) ([]byte, error) {
	if n > int64(limit) {
		return nil, &channel.TooLargeError{Size: int(min(n, 1<<62)), Limit: limit, Where: where}
	}
	if r == nil || r == http.NoBody || n == 0 {
		return nil, nil
	}
	if n > 0 {
		buf, err := readNInto(dst, r, int(n))
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			err = fmt.Errorf("body ends before its Content-Length of %d bytes", n)
		}
		return buf, err
	}
	buf := dst[:0]
	if cap(buf) == 0 {
		buf = make([]byte, 0, 512)
	}
	lr := &io.LimitedReader{R: r, N: int64(limit) + 1}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		k, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if len(buf) > limit {
			return nil, &channel.TooLargeError{Size: len(buf), Limit: limit, Where: where}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// firstAlloc is the most a reader allocates before the bytes arrive: a peer that declares a
// large length and then stalls must not pin that much memory.
const firstAlloc = 64 << 10

// readN reads exactly n bytes, growing its buffer as they arrive.
func readN(r io.Reader, n int) ([]byte, error) {
	return readNInto(nil, r, n)
}

// readNInto is readN into dst's capacity when it holds n bytes.
func readNInto(dst []byte, r io.Reader, n int) ([]byte, error) {
	buf := dst[:0]
	if cap(buf) < n {
		buf = make([]byte, 0, min(n, firstAlloc))
	}
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(n-len(buf), cap(buf)))
		}
		k, err := r.Read(buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+k]
		if err != nil && len(buf) < n {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return buf, nil
}

// ParseRequest maps an incoming HTTP request to a TypeRequest envelope, reading a body of
// at most limit bytes. It is what the server does before dispatching; errors are
// *RequestError values that say which status the server answers with.
func ParseRequest(r *http.Request, limit int) (*channel.Envelope, error) {
	e, rerr := parseHead(r)
	if rerr != nil {
		return nil, rerr
	}
	if e.Data, rerr = readBody(r.Body, r.ContentLength, limit); rerr != nil {
		return nil, rerr
	}
	return e, nil
}

// NewRequest maps a TypeRequest envelope to the HTTP request that carries it to base, a
// URL such as "http://127.0.0.1:8080" (a path prefix is kept). It is the inverse of
// ParseRequest; the envelope's ID is not carried (it is always 0 over http). A stream
// request made here asks for no flow control: the server is paced by TCP alone.
func NewRequest(ctx context.Context, base string, e *channel.Envelope) (*http.Request, error) {
	u, err := url.Parse(strings.TrimSuffix(base, "/") + "/" + url.PathEscape(e.Method))
	if err != nil {
		return nil, fmt.Errorf("httpchan: base URL %q: %v", base, err)
	}
	return newRequest(ctx, u, e)
}

func newRequest(ctx context.Context, u *url.URL, e *channel.Envelope) (*http.Request, error) {
	if e.Method == "" {
		return nil, errors.New("httpchan: request without a method (the path would be empty)")
	}
	if !e.Mode.Valid() {
		return nil, fmt.Errorf("httpchan: request has unknown mode %d", e.Mode)
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "", http.NoBody)
	if err != nil {
		return nil, fmt.Errorf("httpchan: %v", err)
	}
	if len(e.Data) > 0 { // lent: see lentBody
		r.Body, r.ContentLength, r.GetBody = &lentBody{data: e.Data}, int64(len(e.Data)), nil
	}
	r.URL, r.Host = u, u.Host
	h := r.Header
	h[HeaderMode] = modeValues[e.Mode]
	if e.Timeout > 0 {
		h[HeaderTimeout] = []string{formatTimeout(e.Timeout)}
	}
	if err := writeMeta(h, e.Codec, &e.Meta); err != nil {
		return nil, err
	}
	return r, nil
}
