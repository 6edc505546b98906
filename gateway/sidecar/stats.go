package sidecar

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/jesus-go/jesus/jesus"
)

// stats counts what the sidecar carried. Keys of the maps are methods and events that
// exist in the registry (or in a registered app), so the maps stay bounded by what is
// declared; requests refused before that are counted in rejected only.
type stats struct {
	rejected  atomic.Uint64 // API requests refused before anything was sent (bad input, unknown names)
	pushed    atomic.Uint64 // events pushed to apps
	pushFails atomic.Uint64 // events an app did not take (error reply, unreachable)

	mu        sync.Mutex
	calls     map[string]*Figures // by service.method: calls made through /v1/call
	emits     map[string]*Figures // by event: emits made through /v1/emit and WebSocket
	forwarded map[string]*Figures // by service.method: requests forwarded to apps
}

// Figures are the counts of one method or event.
type Figures struct {
	Count   uint64            `json:"count"`
	Errors  map[string]uint64 `json:"errors,omitempty"` // by code
	TotalMS float64           `json:"totalMs"`          // summed duration, for a mean
}

// Stats is a snapshot of what the sidecar carried since New (GET /v1/stats).
type Stats struct {
	Calls           map[string]Figures `json:"calls"`
	Emits           map[string]Figures `json:"emits"`
	Forwarded       map[string]Figures `json:"forwarded"`
	Rejected        uint64             `json:"rejected"`
	Pushed          uint64             `json:"pushed"`
	PushFailures    uint64             `json:"pushFailures"`
	Subscribers     int                `json:"subscribers"`
	SubscriberDrops uint64             `json:"subscriberDrops"`
	Apps            int                `json:"apps"`
}

func (st *stats) add(m *map[string]*Figures, key string, err error, d time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if *m == nil {
		*m = map[string]*Figures{}
	}
	f := (*m)[key]
	if f == nil {
		f = &Figures{}
		(*m)[key] = f
	}
	f.Count++
	f.TotalMS += float64(d) / float64(time.Millisecond)
	if err != nil {
		if f.Errors == nil {
			f.Errors = map[string]uint64{}
		}
		f.Errors[string(jesus.CodeOf(err))]++
	}
}

func (st *stats) call(key string, err error, d time.Duration)    { st.add(&st.calls, key, err, d) }
func (st *stats) emit(key string, err error, d time.Duration)    { st.add(&st.emits, key, err, d) }
func (st *stats) forward(key string, err error, d time.Duration) { st.add(&st.forwarded, key, err, d) }

func copyFigures(m map[string]*Figures) map[string]Figures {
	out := make(map[string]Figures, len(m))
	for k, f := range m {
		c := *f
		if f.Errors != nil {
			c.Errors = make(map[string]uint64, len(f.Errors))
			for code, n := range f.Errors {
				c.Errors[code] = n
			}
		}
		out[k] = c
	}
	return out
}

// Stats returns a snapshot of the sidecar's figures.
func (s *Sidecar) Stats() Stats {
	s.stats.mu.Lock()
	out := Stats{
		Calls:     copyFigures(s.stats.calls),
		Emits:     copyFigures(s.stats.emits),
		Forwarded: copyFigures(s.stats.forwarded),
	}
	s.stats.mu.Unlock()
	out.Rejected = s.stats.rejected.Load()
	out.Pushed = s.stats.pushed.Load()
	out.PushFailures = s.stats.pushFails.Load()
	out.Subscribers, out.SubscriberDrops = s.subs.figures()
	s.mu.Lock()
	out.Apps = len(s.apps)
	s.mu.Unlock()
	return out
}
