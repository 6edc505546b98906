package dashboard

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
)

// State is what the page shows, as /api/state serves it.
type State struct {
	At       time.Time `json:"at"`
	Services []Service `json:"services"`
	Compat   Compat    `json:"compat"`
	Events   []Event   `json:"events"`
}

// Service is one service of the registry.
type Service struct {
	Name      string     `json:"name"`
	Versions  []string   `json:"versions"`
	Latest    string     `json:"latest"`
	Instances []Instance `json:"instances"`
	Methods   []Method   `json:"methods"`
}

// Instance is one live instance and how its last $stats went.
type Instance struct {
	ID        string            `json:"id"`
	Version   string            `json:"version"`
	Endpoints map[string]string `json:"endpoints"`
	Started   time.Time         `json:"started"`
	Answered  bool              `json:"answered"`
	Error     string            `json:"error,omitempty"`
}

// Method is one method of a service's latest descriptor with its figures summed over
// the instances that answered.
type Method struct {
	Name      string          `json:"name"`
	Mode      string          `json:"mode"`
	Channel   string          `json:"channel"`
	Request   json.RawMessage `json:"request,omitempty"`
	Response  json.RawMessage `json:"response,omitempty"`
	Requests  uint64          `json:"requests"`
	Errors    uint64          `json:"errors"`
	Rate      float64         `json:"rate"`      // requests per second over the last interval
	ErrorRate float64         `json:"errorRate"` // errors per second over the last interval
	AvgNanos  int64           `json:"avg_ns"`
	P99Nanos  int64           `json:"p99_ns"` // the highest of the instances'
	LastError string          `json:"lastError,omitempty"`
}

// Compat is the compatibility of every caller/receiver and emitter/listener pair.
type Compat struct {
	Verdict string `json:"verdict"`
	Pairs   []Pair `json:"pairs"`
}

// Pair is one relation between two services, with its worst verdict.
type Pair struct {
	From     string   `json:"from"`
	To       string   `json:"to"`
	Verdict  string   `json:"verdict"`
	Problems []string `json:"problems,omitempty"`
}

// Event is one recent change.
type Event struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	Text string    `json:"text"`
}

// poll asks every live instance for $stats and rebuilds the state.
func (d *Dashboard) poll(ctx context.Context) {
	cache := d.cfg.Cache
	var out []Service
	type job struct {
		svc, inst int
		ep        string
	}
	var jobs []job
	stats := map[[2]int]*jesus.Stats{}
	for _, name := range cache.Services() {
		s := Service{Name: name, Versions: cache.Versions(name), Instances: []Instance{}, Methods: []Method{}}
		ver, doc, _ := cache.Latest(name)
		s.Latest = ver
		s.Methods = methodsOf(doc)
		ins := cache.Instances(name)
		sort.Slice(ins, func(i, j int) bool { return ins[i].ID < ins[j].ID })
		for _, in := range ins {
			s.Instances = append(s.Instances, Instance{ID: in.ID, Version: in.Version, Endpoints: in.Endpoints, Started: in.StartedAt})
			if ep, ok := replyEndpoint(in); ok {
				jobs = append(jobs, job{len(out), len(s.Instances) - 1, ep})
			} else {
				s.Instances[len(s.Instances)-1].Error = "no endpoint that carries replies"
			}
		}
		out = append(out, s)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, j := range jobs {
		c := d.client(j.ep)
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
			defer cancel()
			st, err := jesus.Call[any, jesus.Stats](cctx, c, out[j.svc].Name+"."+jesus.APIStats, nil)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				out[j.svc].Instances[j.inst].Error = err.Error()
				return
			}
			out[j.svc].Instances[j.inst].Answered = true
			stats[[2]int{j.svc, j.inst}] = &st
		})
	}
	wg.Wait()
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	seen := map[sampleKey]bool{}
	for k, st := range stats {
		d.fold(&out[k[0]], st, now, seen)
	}
	for k := range d.prev {
		if !seen[k] {
			delete(d.prev, k)
		}
	}
	live := map[string]bool{}
	for _, j := range jobs {
		live[j.ep] = true
	}
	d.pruneClients(live)
	if out == nil {
		out = []Service{}
	}
	d.state = State{At: now, Services: out}
}

// fold adds one instance's $stats into its service's methods, with rates against the
// instance's previous sample.
func (d *Dashboard) fold(s *Service, st *jesus.Stats, now time.Time, seen map[sampleKey]bool) {
	for _, ms := range st.Methods {
		i := indexOf(s.Methods, ms.Name)
		if i < 0 { // not in the descriptor: an event listener ("<service>.event:<event>")
			m := Method{Name: ms.Name}
			if strings.Contains(ms.Name, ".event:") {
				m.Mode = "event"
			}
			s.Methods = append(s.Methods, m)
			i = len(s.Methods) - 1
		}
		m := &s.Methods[i]
		if total := m.Requests + ms.Requests; total > 0 {
			m.AvgNanos = (m.AvgNanos*int64(m.Requests) + ms.AvgNanos*int64(ms.Requests)) / int64(total)
		}
		m.Requests += ms.Requests
		m.Errors += ms.Errors
		m.P99Nanos = max(m.P99Nanos, ms.P99Nanos)
		if ms.LastError != "" {
			m.LastError = ms.LastError
		}
		k := sampleKey{st.ID, ms.Name}
		seen[k] = true
		p, ok := d.prev[k]
		if ok && now.After(p.at) && ms.Requests >= p.requests && ms.Errors >= p.errors {
			dt := now.Sub(p.at).Seconds()
			m.Rate += float64(ms.Requests-p.requests) / dt
			m.ErrorRate += float64(ms.Errors-p.errors) / dt
		}
		if ms.LastError != "" && ms.LastError != p.lastError {
			d.addEvent("error", ms.Name+" on "+shortID(st.ID)+": "+ms.LastError)
		}
		d.prev[k] = sample{ms.Requests, ms.Errors, ms.LastError, now}
	}
}

func indexOf(ms []Method, name string) int {
	for i := range ms {
		if ms[i].Name == name {
			return i
		}
	}
	return -1
}

// client returns the poller's client of endpoint ep.
func (d *Dashboard) client(ep string) *jesus.Client {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.clients[ep]
	if c == nil {
		c = jesus.NewClient("jesus-dashboard", jesus.WithTarget(ep))
		d.clients[ep] = c
	}
	return c
}

// pruneClients closes the clients of endpoints no live instance has; d.mu is held.
func (d *Dashboard) pruneClients(live map[string]bool) {
	for ep, c := range d.clients {
		if !live[ep] {
			_ = c.Close()
			delete(d.clients, ep)
		}
	}
}

// replyEndpoint picks an endpoint that carries replies: tcp, unix, then http.
func replyEndpoint(in registry.Instance) (string, bool) {
	best, rank := "", 99
	for _, ep := range in.Endpoints {
		sp, err := channel.ParseSpec(ep)
		if err != nil || sp.Transport == "udp" {
			continue
		}
		r := map[string]int{"tcp": 0, "unix": 1, "http": 2}[sp.Transport]
		if r < rank || (r == rank && ep < best) {
			best, rank = ep, r
		}
	}
	return best, best != ""
}

// methodsOf lists the methods of a descriptor with their schemas, sorted by name.
func methodsOf(doc []byte) []Method {
	out := []Method{}
	if doc == nil {
		return out
	}
	d, err := schema.Parse("descriptor.json", doc)
	if err != nil {
		return out
	}
	for name, ep := range d.Methods {
		out = append(out, Method{Name: d.Service + "." + name, Mode: ep.Mode.String(), Channel: ep.Channel, Request: ep.Request, Response: ep.Response})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
