package sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"

	"github.com/coder/websocket"
	"github.com/jesus-go/jesus/internal/jsonone"
	"github.com/jesus-go/jesus/jesus"
)

// wsIn is a message a WebSocket client sends: an emit.
type wsIn struct {
	Type    string          `json:"type"` // "emit"
	Ref     string          `json:"ref,omitempty"`
	Event   string          `json:"event"`
	Payload json.RawMessage `json:"payload"`
}

// wsOut is a message the sidecar sends: an event, or the result or error of an emit.
type wsOut struct {
	Type   string          `json:"type"` // "event", "result", "error"
	Ref    string          `json:"ref,omitempty"`
	Event  json.RawMessage `json:"event,omitempty"`
	Result *EmitResult     `json:"result,omitempty"`
	Error  *errorJSON      `json:"error,omitempty"`
}

// handleWS serves a WebSocket that publishes (emits, one at a time, each answered) and
// subscribes (the events named by ?name=, as the SSE stream has them).
func (s *Sidecar) handleWS(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	names, service, from := q["name"], q.Get("service"), q.Get("from")
	if len(names) > 0 {
		if err := s.checkListened(names, service); err != nil {
			s.stats.rejected.Add(1)
			writeError(w, err)
			return
		}
	}
	var sb *sub
	if len(names) > 0 {
		var err error
		if sb, err = s.subs.subscribe(names, service); err != nil {
			writeError(w, err)
			return
		}
		defer s.subs.unsubscribe(sb)
	}
	if !s.wsEnter() {
		writeError(w, jesus.Errorf(jesus.CodeUnavailable, "sidecar: shutting down"))
		return
	}
	defer s.wsConns.Done()
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept answered the client
	}
	defer c.CloseNow()
	c.SetReadLimit(s.cfg.MaxBody)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	var wmu sync.Mutex
	write := func(m wsOut) error {
		b, err := marshal(m)
		if err != nil {
			return err
		}
		wctx, wcancel := context.WithTimeout(ctx, writeTimeout)
		defer wcancel()
		wmu.Lock()
		defer wmu.Unlock()
		return c.Write(wctx, websocket.MessageText, b)
	}
	// One goroutine closes the socket when the sidecar stops (a hijacked connection is
	// not the http.Server's any more) and, with a subscription, writes its events.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if sb != nil {
			s.wsEvents(ctx, sb, write)
		} else {
			select {
			case <-ctx.Done():
			case <-s.done:
			}
		}
		if s.isClosed() {
			_ = c.Close(websocket.StatusGoingAway, "sidecar shutting down")
		}
		cancel() // a failed write ends the reading too
	}()
	s.wsRead(ctx, c, from, write)
	cancel()
	wg.Wait()
	_ = c.Close(websocket.StatusNormalClosure, "")
}

// wsEvents writes the subscriber's events until ctx ends or the hub closes it.
func (s *Sidecar) wsEvents(ctx context.Context, sb *sub, write func(wsOut) error) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case d, ok := <-sb.ch:
			if !ok || write(wsOut{Type: "event", Event: d.data}) != nil {
				return
			}
		}
	}
}

// wsRead runs the client's emits, one at a time, until the connection or ctx ends.
func (s *Sidecar) wsRead(ctx context.Context, c *websocket.Conn, from string, write func(wsOut) error) {
	for {
		typ, b, err := c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) || ctx.Err() != nil {
				return
			}
			e := toErrorJSON(jesus.Errorf(jesus.CodeResourceExhausted, "sidecar: websocket: %v (message limit %d bytes)", err, s.cfg.MaxBody))
			_ = write(wsOut{Type: "error", Error: &e})
			return
		}
		if typ != websocket.MessageText {
			e := toErrorJSON(jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: websocket: binary message; want JSON text {\"type\":\"emit\",\"event\":...,\"payload\":...}"))
			if write(wsOut{Type: "error", Error: &e}) != nil {
				return
			}
			continue
		}
		out := s.wsEmit(ctx, from, b)
		if write(out) != nil {
			return
		}
	}
}

func (s *Sidecar) wsEmit(ctx context.Context, from string, b []byte) wsOut {
	var m wsIn
	fail := func(ref string, err error) wsOut {
		e := toErrorJSON(err)
		return wsOut{Type: "error", Ref: ref, Error: &e}
	}
	if err := json.Unmarshal(b, &m); err != nil {
		s.stats.rejected.Add(1)
		return fail("", jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: websocket: message is not JSON: %s", jsonone.Describe(err, len(b))))
	}
	if m.Type != "emit" {
		s.stats.rejected.Add(1)
		return fail(m.Ref, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: websocket: message type %q; want \"emit\"", m.Type))
	}
	payload, err := decodeJSON(m.Payload, "websocket emit "+m.Event)
	if err != nil {
		s.stats.rejected.Add(1)
		return fail(m.Ref, err)
	}
	ectx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	res, err := s.emit(ectx, from, m.Event, payload)
	if err != nil {
		return fail(m.Ref, err)
	}
	return wsOut{Type: "result", Ref: m.Ref, Result: &res}
}

// wsEnter counts a WebSocket handler in, unless the sidecar is stopping.
func (s *Sidecar) wsEnter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wsConns.Add(1)
	return true
}
