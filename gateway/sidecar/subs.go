package sidecar

import (
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jesus-go/jesus/jesus"
)

// heartbeat is how often an idle SSE stream gets a comment line, so that proxies keep it
// and a client that went away is noticed by the failing write.
const heartbeat = 15 * time.Second

// delivery is one event for subscribers, marshalled once for all of them.
type delivery struct {
	event, id string
	data      []byte
}

// sub is one SSE or WebSocket subscriber. Its channel is closed by the hub, once, when
// the subscriber is removed or the hub closes.
type sub struct {
	names   map[string]bool
	service string // "" for every app of the sidecar
	ch      chan delivery
	dropped atomic.Uint64
}

// hub fans events received by the apps out to subscribers, without ever blocking the
// delivery: a subscriber whose buffer is full loses the event (counted).
type hub struct {
	max, buf int
	drops    atomic.Uint64

	mu     sync.Mutex
	subs   map[*sub]struct{}
	closed bool
}

func newHub(max, buf int) *hub {
	return &hub{max: max, buf: buf, subs: map[*sub]struct{}{}}
}

func (h *hub) subscribe(names []string, service string) (*sub, error) {
	sb := &sub{names: map[string]bool{}, service: service, ch: make(chan delivery, h.buf)}
	for _, n := range names {
		sb.names[n] = true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, jesus.Errorf(jesus.CodeUnavailable, "sidecar: shutting down")
	}
	if len(h.subs) >= h.max {
		return nil, jesus.Errorf(jesus.CodeResourceExhausted, "sidecar: %d event subscribers already, the limit", h.max)
	}
	h.subs[sb] = struct{}{}
	return sb, nil
}

func (h *hub) unsubscribe(sb *sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[sb]; ok {
		delete(h.subs, sb)
		close(sb.ch)
	}
}

func (h *hub) publish(service, event, id string, data []byte) {
	d := delivery{event: event, id: id, data: data}
	h.mu.Lock()
	defer h.mu.Unlock()
	for sb := range h.subs {
		if !sb.names[event] || (sb.service != "" && sb.service != service) {
			continue
		}
		select {
		case sb.ch <- d:
		default:
			sb.dropped.Add(1)
			h.drops.Add(1)
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for sb := range h.subs {
		delete(h.subs, sb)
		close(sb.ch)
	}
}

func (h *hub) figures() (int, uint64) {
	h.mu.Lock()
	n := len(h.subs)
	h.mu.Unlock()
	return n, h.drops.Load()
}

// checkListened refuses a subscription to an event no app of the sidecar (or not the
// named one) listens to: nothing would ever arrive.
func (s *Sidecar) checkListened(names []string, service string) error {
	if len(names) == 0 {
		return jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: subscribe: no event named; want ?name=EVENT (repeatable)")
	}
	if len(names) > 64 {
		return jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: subscribe: %d events named, at most 64", len(names))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if service != "" && s.apps[service] == nil {
		return jesus.Errorf(jesus.CodeNotFound, "sidecar: subscribe: no app %q is registered with this sidecar", service)
	}
	for _, n := range names {
		found := false
		for svc, a := range s.apps {
			if _, ok := a.d.Listens[n]; ok && (service == "" || service == svc) {
				found = true
				break
			}
		}
		if !found {
			var who []string
			for svc := range s.apps {
				who = append(who, svc)
			}
			sort.Strings(who)
			return jesus.Errorf(jesus.CodeNotFound, "sidecar: subscribe: no app of this sidecar listens to event %q (apps: %s); an app must declare it under listens", n, strings.Join(who, ", "))
		}
	}
	return nil
}

// handleSSE streams the events the apps receive as server-sent events until the client
// goes away or the sidecar stops.
func (s *Sidecar) handleSSE(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	names, service := q["name"], q.Get("service")
	if err := s.checkListened(names, service); err != nil {
		s.stats.rejected.Add(1)
		writeError(w, err)
		return
	}
	sb, err := s.subs.subscribe(names, service)
	if err != nil {
		writeError(w, err)
		return
	}
	defer s.subs.unsubscribe(sb)
	setSSEHeaders(w)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	// A first comment tells the client the subscription is in place.
	_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := w.Write([]byte(": subscribed\n\n")); err != nil || rc.Flush() != nil {
		return
	}
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case d, ok := <-sb.ch:
			if !ok {
				return
			}
			if writeSSERaw(w, rc, d.event, d.id, d.data) != nil {
				return
			}
		case <-t.C:
			_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := w.Write([]byte(": ping\n\n")); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}

// writeSSERaw writes one event whose data is JSON already. Event names and ids come
// from the registry and the wire: a line break in them would forge fields, so they are
// dropped from the event (the JSON data carries both anyway).
func writeSSERaw(w http.ResponseWriter, rc *http.ResponseController, event, id string, data []byte) error {
	if strings.ContainsAny(event, "\r\n") {
		event = "event"
	}
	if strings.ContainsAny(id, "\r\n") {
		id = ""
	}
	buf := make([]byte, 0, len(data)+len(event)+len(id)+24)
	if id != "" {
		buf = append(append(append(buf, "id: "...), id...), '\n')
	}
	buf = append(append(append(buf, "event: "...), event...), '\n')
	buf = append(append(append(buf, "data: "...), data...), "\n\n"...)
	_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := w.Write(buf); err != nil {
		return err
	}
	return rc.Flush()
}
