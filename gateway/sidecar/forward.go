package sidecar

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/httpchan"
	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/internal/jsonone"
	"github.com/jesus-go/jesus/jesus"
)

// maxErrorBody bounds what is read of an app's error reply.
const maxErrorBody = 64 << 10

// handle registers the forwarder of one declared method on the app's server. The server
// has validated the request against the app's schema before the forwarder runs, and
// validates the response (or each item) after it returns.
func (a *app) handle(name string, mode channel.Mode) {
	wire := a.d.WireMethod(name)
	switch mode {
	case jesus.ModeResponse:
		jesus.Handle(a.srv, wire, func(ctx context.Context, req any) (any, error) {
			start := time.Now()
			out, err := a.callApp(ctx, name, mode, req)
			a.s.stats.forward(wire, err, time.Since(start))
			return out, err
		})
	case jesus.ModeStream:
		jesus.HandleStream(a.srv, wire, func(ctx context.Context, req any, send func(any) error) error {
			start := time.Now()
			err := a.streamApp(ctx, name, req, send)
			a.s.stats.forward(wire, err, time.Since(start))
			return err
		})
	default:
		jesus.HandleOneWay(a.srv, wire, func(ctx context.Context, req any) error {
			start := time.Now()
			_, err := a.callApp(ctx, name, mode, req)
			a.s.stats.forward(wire, err, time.Since(start))
			return err
		})
	}
}

// post sends req to POST {app}/{method} with the incoming meta as headers. The caller
// closes the response body and calls cancel.
func (a *app) post(ctx context.Context, path string, mode channel.Mode, body any, extra http.Header) (*http.Response, context.CancelFunc, error) {
	ctx, cancel := context.WithTimeout(ctx, a.s.cfg.AppTimeout)
	b, err := marshal(body)
	if err != nil {
		cancel()
		return nil, nil, jesus.Errorf(jesus.CodeInternal, "sidecar: app %s: encoding the request as JSON: %v", a.d.ID(), err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(b))
	if err != nil {
		cancel()
		return nil, nil, jesus.Errorf(jesus.CodeInternal, "sidecar: app %s: %v", a.d.ID(), err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set(httpchan.HeaderMode, mode.String())
	if m, ok := jesus.MsgFromContext(ctx); ok {
		setIf(h, headerCorrID, m.Meta.CorrID)
		setIf(h, headerUserID, m.Meta.UserID)
		setIf(h, httpchan.HeaderFrom, m.Meta.From)
	}
	if dl, ok := ctx.Deadline(); ok {
		ms := (time.Until(dl) + time.Millisecond - 1) / time.Millisecond
		h.Set(httpchan.HeaderTimeout, strconv.FormatInt(int64(max(ms, 1)), 10))
	}
	for k, v := range extra {
		h[k] = v
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		cerr := ctx.Err()
		cancel()
		switch {
		case errors.Is(cerr, context.DeadlineExceeded):
			return nil, nil, jesus.Errorf(jesus.CodeDeadlineExceeded, "sidecar: app %s at %s did not answer POST %s in time (limit %v, or the caller's deadline)", a.d.ID(), a.url, path, a.s.cfg.AppTimeout)
		case cerr != nil:
			return nil, nil, jesus.Errorf(jesus.CodeCanceled, "sidecar: app %s: POST %s: the caller gave up", a.d.ID(), path)
		}
		return nil, nil, jesus.Errorf(jesus.CodeUnavailable, "sidecar: app %s at %s: POST %s: %v", a.d.ID(), a.url, path, err)
	}
	if resp.StatusCode >= 300 {
		defer cancel()
		defer resp.Body.Close()
		eb, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		e := errorFromReply(resp.StatusCode, resp.Header, eb, "app "+a.d.ID()+" POST "+path)
		e.Service = a.d.Service
		return nil, nil, e
	}
	return resp, cancel, nil
}

func setIf(h http.Header, k, v string) {
	if v != "" && validHeaderValue(v) {
		h.Set(k, v)
	}
}

// validHeaderValue refuses what a header cannot carry unchanged.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return v == "" || (v[0] != ' ' && v[len(v)-1] != ' ')
}

// callApp forwards a response, ack or noResponse request and decodes the response.
func (a *app) callApp(ctx context.Context, method string, mode channel.Mode, req any) (any, error) {
	resp, cancel, err := a.post(ctx, "/"+url.PathEscape(method), mode, req, hookHeaders(ctx))
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	lim := a.s.cfg.MaxBody
	b, err := io.ReadAll(io.LimitReader(resp.Body, lim+1))
	if err != nil {
		return nil, a.readErr(ctx, method, err)
	}
	if mode != jesus.ModeResponse {
		return nil, nil
	}
	if int64(len(b)) > lim {
		return nil, jesus.Errorf(jesus.CodeResourceExhausted, "sidecar: app %s: the response of %s is over the limit of %d bytes", a.d.ID(), method, lim)
	}
	out, err := decodeJSON(b, "app "+a.d.ID()+" response of "+method)
	if err != nil {
		return nil, jesus.Errorf(jesus.CodeInternal, "%s", jesus.AsError(err).Message)
	}
	return out, nil
}

func (a *app) readErr(ctx context.Context, method string, err error) error {
	if ctx.Err() == context.DeadlineExceeded {
		return jesus.Errorf(jesus.CodeDeadlineExceeded, "sidecar: app %s did not finish the reply of %s in time", a.d.ID(), method)
	}
	return jesus.Errorf(jesus.CodeUnavailable, "sidecar: app %s: reading the reply of %s: %v", a.d.ID(), method, err)
}

// streamLine is one line of an NDJSON stream, in both directions: {"item": v},
// then {"end": {...}} or {"error": {...}}.
type streamLine struct {
	Item  json.RawMessage `json:"item"`
	End   json.RawMessage `json:"end"`
	Error *errorJSON      `json:"error"`
}

// streamApp forwards a stream request and relays the app's NDJSON lines as items.
func (a *app) streamApp(ctx context.Context, method string, req any, send func(any) error) error {
	resp, cancel, err := a.post(ctx, "/"+url.PathEscape(method), jesus.ModeStream, req, nil)
	if err != nil {
		return err
	}
	defer cancel()
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 4096)
	for n := 1; ; n++ {
		line, err := readLine(br, int(a.s.cfg.MaxBody))
		if err != nil {
			if err == io.EOF {
				return jesus.Errorf(jesus.CodeInternal, "sidecar: app %s: the stream of %s ended without an end line after %d item(s)", a.d.ID(), method, n-1)
			}
			if errors.Is(err, errLineTooLong) {
				return jesus.Errorf(jesus.CodeResourceExhausted, "sidecar: app %s: line %d of the stream of %s is over the limit of %d bytes", a.d.ID(), n, method, a.s.cfg.MaxBody)
			}
			return a.readErr(ctx, method, err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			n--
			continue
		}
		item, end, appErr, err := parseStreamLine(line)
		switch {
		case err != nil:
			return jesus.Errorf(jesus.CodeInternal, "sidecar: app %s: line %d of the stream of %s: %v", a.d.ID(), n, method, err)
		case appErr != nil:
			appErr.Service = a.d.Service
			return appErr
		case end:
			return nil
		}
		if err := send(item); err != nil {
			return err
		}
	}
}

// parseStreamLine reads one line of an app's stream: an item, the end, or the app's
// error (appErr, with its code). err says the line is none of these.
func parseStreamLine(line []byte) (item any, end bool, appErr *jesus.Error, err error) {
	var sl streamLine
	if err := json.Unmarshal(line, &sl); err != nil {
		return nil, false, nil, fmt.Errorf("not JSON: %s", jsonone.Describe(err, len(line)))
	}
	switch {
	case sl.Error != nil:
		code := sl.Error.Code
		if !code.Valid() {
			code = jesus.CodeUnknown
		}
		return nil, false, jesus.NewError(code, sl.Error.Message), nil
	case sl.End != nil:
		return nil, true, nil, nil
	case sl.Item != nil:
		item, err := decodeJSON(sl.Item, "stream item")
		if err != nil {
			return nil, false, nil, err
		}
		return item, false, nil, nil
	}
	return nil, false, nil, errors.New("none of item, end, error")
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line of at most limit bytes (without its newline).
func readLine(br *bufio.Reader, limit int) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > limit+1 {
			return nil, errLineTooLong
		}
		line = append(line, frag...)
		switch {
		case err == nil:
			return bytes.TrimRight(line, "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(line) > 0:
			return line, nil
		default:
			return nil, err
		}
	}
}

// eventJSON is an event as subscribers and pushes see it.
type eventJSON struct {
	Event   string    `json:"event"`
	ID      string    `json:"id"`
	From    string    `json:"from"`
	CorrID  string    `json:"corrid"`
	At      time.Time `json:"at"`
	Service string    `json:"service"` // the app that received it
	Payload any       `json:"payload"`
}

// onEvent runs for each event the app listens to, once it passed the app's listen
// schema and was acknowledged: it goes to the subscribers, and is pushed to the app.
func (a *app) onEvent(ctx context.Context, ev events.Event[any]) error {
	data, err := marshal(eventJSON{Event: ev.Name, ID: ev.ID, From: ev.From, CorrID: ev.CorrID, At: ev.At, Service: a.d.Service, Payload: ev.Payload})
	if err != nil {
		return jesus.Errorf(jesus.CodeInternal, "sidecar: app %s: event %s as JSON: %v", a.d.ID(), ev.Name, err)
	}
	a.s.subs.publish(a.d.Service, ev.Name, ev.ID, data)
	if !a.push {
		return nil
	}
	h := http.Header{}
	h.Set("Jesus-Event", ev.Name)
	h.Set("Jesus-Event-Id", ev.ID)
	h.Set("Jesus-Event-At", ev.At.UTC().Format(time.RFC3339Nano))
	resp, cancel, err := a.post(ctx, "/events/"+url.PathEscape(ev.Name), jesus.ModeAck, ev.Payload, h)
	if err != nil {
		a.s.stats.pushFails.Add(1)
		a.s.cfg.Logger.Warn("sidecar: push failed", "app", a.d.ID(), "event", ev.Name, "id", ev.ID, "err", err)
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	cancel()
	a.s.stats.pushed.Add(1)
	return nil
}
