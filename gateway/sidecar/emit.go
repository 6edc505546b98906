package sidecar

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/jesus-go/jesus/channel/httpchan"
	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
)

// emitter is an emit-only bus of a service published in the registry that is not an app
// of this sidecar (Jesus-From names it).
type emitter struct {
	d   *schema.Descriptor
	bus *events.Bus
}

func (e *emitter) close() { _ = e.bus.Close() }

// EmitResult is the reply of POST /v1/emit: which listening services acknowledged (ack
// events) or were sent the event (noResponse events), and which did not get it, and why.
type EmitResult struct {
	Event  string               `json:"event"`
	ID     string               `json:"id"`
	Acked  []string             `json:"acked"`
	Sent   []string             `json:"sent"`
	Failed map[string]errorJSON `json:"failed,omitempty"`
}

func (s *Sidecar) handleEmit(w http.ResponseWriter, r *http.Request) {
	event := r.PathValue("event")
	what := "emit " + event
	ctx, payload, done, err := s.readRequest(r, what)
	if err != nil {
		s.stats.rejected.Add(1)
		writeError(w, err)
		return
	}
	defer done()
	res, err := s.emit(ctx, r.Header.Get(httpchan.HeaderFrom), event, payload)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set(headerCorrID, jesus.CorrID(ctx))
	writeJSON(w, http.StatusOK, res)
}

// emit sends payload as event from the service from ("" : the one app of this sidecar
// that declares the event). A delivery that failed for some listeners is a result, not
// an error; a refused payload or an unknown event is an error.
func (s *Sidecar) emit(ctx context.Context, from, event string, payload any) (EmitResult, error) {
	bus, err := s.emitterFor(ctx, from, event)
	if err != nil {
		s.stats.rejected.Add(1)
		return EmitResult{}, err
	}
	start := time.Now()
	res, err := events.Emit(ctx, bus, event, payload)
	s.stats.emit(event, err, time.Since(start))
	var de *events.DeliveryError
	if err != nil && !errors.As(err, &de) {
		return EmitResult{}, err
	}
	out := EmitResult{Event: res.Event, ID: res.ID, Acked: res.Acked, Sent: res.Sent}
	if out.Acked == nil {
		out.Acked = []string{}
	}
	if out.Sent == nil {
		out.Sent = []string{}
	}
	if len(res.Failed) > 0 {
		out.Failed = make(map[string]errorJSON, len(res.Failed))
		for svc, e := range res.Failed {
			out.Failed[svc] = toErrorJSON(e)
		}
	}
	return out, nil
}

// emitterFor picks the bus that emits event: the app named from, else a service named
// from that is published in the registry, else the one app that declares the event.
func (s *Sidecar) emitterFor(ctx context.Context, from, event string) (*events.Bus, error) {
	if event == "" || len(event) > 256 {
		return nil, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: emit: want /v1/emit/EVENT with an event name of 1 to 256 bytes")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, jesus.Errorf(jesus.CodeUnavailable, "sidecar: shutting down")
	}
	if from == "" {
		var who []*app
		for _, a := range s.apps {
			if _, ok := a.d.Events[event]; ok {
				who = append(who, a)
			}
		}
		switch len(who) {
		case 1:
			return who[0].bus, nil
		case 0:
			return nil, jesus.Errorf(jesus.CodeNotFound, "sidecar: emit %s: no app of this sidecar declares event %q under events; name the emitting service with %s", event, event, httpchan.HeaderFrom)
		}
		names := make([]string, len(who))
		for i, a := range who {
			names[i] = a.d.Service
		}
		sort.Strings(names)
		return nil, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: emit %s: apps %s all declare it; say which emits with %s", event, strings.Join(names, ", "), httpchan.HeaderFrom)
	}
	d, bus, err := s.busOf(from)
	if err != nil {
		return nil, err
	}
	if _, ok := d.Events[event]; !ok {
		names := make([]string, 0, len(d.Events))
		for e := range d.Events {
			names = append(names, e)
		}
		sort.Strings(names)
		return nil, jesus.Errorf(jesus.CodeNotFound, "sidecar: emit: %s declares no event %q (events: %s)", d.ID(), event, strings.Join(names, ", "))
	}
	return bus, nil
}

// busOf returns the bus of service from; s.mu is held.
func (s *Sidecar) busOf(from string) (*schema.Descriptor, *events.Bus, error) {
	if a := s.apps[from]; a != nil {
		return a.d, a.bus, nil
	}
	ver, doc, ok := s.cfg.Cache.Latest(from)
	if !ok {
		return nil, nil, jesus.Errorf(jesus.CodeNotFound, "sidecar: emit: %s %q: no such app of this sidecar, and no such service in the registry", httpchan.HeaderFrom, from)
	}
	key := from + "@" + ver
	if e := s.emitters[key]; e != nil {
		return e.d, e.bus, nil
	}
	if len(s.emitters) >= s.cfg.MaxApps {
		return nil, nil, jesus.Errorf(jesus.CodeResourceExhausted, "sidecar: emit: %d emitting services already, the limit", s.cfg.MaxApps)
	}
	set := schema.NewSet()
	if err := set.Add(key+".json", doc); err != nil {
		return nil, nil, jesus.Errorf(jesus.CodeInternal, "sidecar: emit: the published descriptor %s does not load: %v", key, err)
	}
	d := set.Get(from, ver)
	if d == nil {
		return nil, nil, jesus.Errorf(jesus.CodeInternal, "sidecar: emit: the published descriptor %s does not load", key)
	}
	bus, err := newBus(d, set, s.disc, nil, events.WithLogger(s.cfg.Logger))
	if err != nil {
		return nil, nil, jesus.Errorf(jesus.CodeInternal, "sidecar: emit as %s: %v", key, err)
	}
	s.emitters[key] = &emitter{d: d, bus: bus}
	return d, bus, nil
}
