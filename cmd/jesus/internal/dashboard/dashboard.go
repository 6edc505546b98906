// Package dashboard is the web page of `jesus dashboard`: one page, its assets embedded
// (no CDN), that shows the services of a registry, their versions, live instances and
// endpoints, methods with schemas, live request and error rates from each instance's
// $stats, the compatibility of every caller/receiver pair, and recent registry events.
// A poller owned by the Dashboard asks every instance for $stats once per interval.
package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/compat"
	"github.com/jesus-go/jesus/schema/registry"
)

//go:embed assets
var assets embed.FS

// Config says what a Dashboard reads and how often.
type Config struct {
	Cache    *registry.Cache // the registry's watch-fed cache (required)
	Interval time.Duration   // how often every instance is asked for $stats (default 1s)
	Timeout  time.Duration   // how long one instance may take to answer (default 2s)
	Logger   *slog.Logger    // default: discard
	// Events bounds the recent events kept (default 100).
	Events int
}

// Dashboard serves the page and the state it shows. Its methods are safe for concurrent
// use; Close stops the poller and is repeat-safe.
type Dashboard struct {
	cfg     Config
	checker *compat.Checker // remembers what it proved, across re-checks
	stop    context.CancelFunc
	done    chan struct{}

	mu      sync.Mutex
	state   State
	prev    map[sampleKey]sample     // last $stats counts per instance and method
	clients map[string]*jesus.Client // by endpoint
	events  []Event
	compat  Compat
}

type sampleKey struct{ instance, method string }

type sample struct {
	requests, errors uint64
	lastError        string
	at               time.Time
}

// New starts a dashboard over cfg.Cache; its poller runs until Close.
func New(cfg Config) *Dashboard {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Events <= 0 {
		cfg.Events = 100
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dashboard{cfg: cfg, checker: compat.NewChecker(), stop: cancel, done: make(chan struct{}),
		prev: map[sampleKey]sample{}, clients: map[string]*jesus.Client{}}
	changes, unsubscribe := cfg.Cache.Subscribe()
	d.recheck()
	d.poll(ctx)
	go func() {
		defer close(d.done)
		defer unsubscribe()
		tick := time.NewTicker(cfg.Interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ch, ok := <-changes:
				if !ok {
					changes = nil
					continue
				}
				d.event(ch.Kind.String(), describeChange(ch))
				d.recheck()
			case <-tick.C:
				d.poll(ctx)
			}
		}
	}()
	return d
}

// Close stops the poller and closes its connections. Repeat-safe.
func (d *Dashboard) Close() {
	d.stop()
	<-d.done
	d.mu.Lock()
	defer d.mu.Unlock()
	for ep, c := range d.clients {
		_ = c.Close()
		delete(d.clients, ep)
	}
}

// Handler serves the page (/), its assets, and the state as JSON (/api/state).
func (d *Dashboard) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	mux.Handle("GET /", http.FileServerFS(static))
	mux.HandleFunc("GET /api/state", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(d.State())
	})
	return mux
}

// State returns what the page shows now.
func (d *Dashboard) State() State {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.state
	st.Events = append([]Event(nil), d.events...)
	st.Compat = d.compat
	return st
}

// Record adds an event of the caller's to the recent events (e.g. a domain event the
// caller listens to).
func (d *Dashboard) Record(kind, text string) { d.event(kind, text) }

func (d *Dashboard) event(kind, text string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.addEvent(kind, text)
}

// addEvent records an event; d.mu is held.
func (d *Dashboard) addEvent(kind, text string) {
	d.events = append([]Event{{At: time.Now(), Kind: kind, Text: text}}, d.events...)
	if len(d.events) > d.cfg.Events {
		d.events = d.events[:d.cfg.Events]
	}
}

func describeChange(ch registry.Change) string {
	switch ch.Kind {
	case registry.DescriptorAdded, registry.DescriptorRemoved:
		return ch.Service + "@" + ch.Version
	case registry.InstanceUp, registry.InstanceDown:
		return ch.Service + "@" + ch.Version + " instance " + ch.Instance
	}
	return "the registry view was re-read"
}

// recheck proves the latest descriptors of every service against each other.
func (d *Dashboard) recheck() {
	cache := d.cfg.Cache
	var descs []*schema.Descriptor
	for _, svc := range cache.Services() {
		ver, doc, ok := cache.Latest(svc)
		if !ok {
			continue
		}
		cd, err := schema.Parse(svc+"@"+ver+".json", doc)
		if err != nil {
			d.event("error", svc+"@"+ver+": "+err.Error())
			continue
		}
		descs = append(descs, cd)
	}
	rep := d.checker.CheckAll(descs) // the checker remembers: a re-check proves only what changed
	pairs := map[[2]string]*Pair{}
	for _, it := range rep.Items {
		if it.To == "" {
			continue
		}
		k := [2]string{it.From, it.To}
		p := pairs[k]
		if p == nil {
			p = &Pair{From: it.From, To: it.To, Verdict: compat.Compatible.String()}
			pairs[k] = p
		}
		if it.Verdict != compat.Compatible {
			p.Problems = append(p.Problems, it.Lines()...)
		}
		if worse(it.Verdict.String(), p.Verdict) {
			p.Verdict = it.Verdict.String()
		}
	}
	c := Compat{Verdict: rep.Verdict().String(), Pairs: []Pair{}}
	for _, p := range pairs {
		c.Pairs = append(c.Pairs, *p)
	}
	sort.Slice(c.Pairs, func(i, j int) bool {
		if c.Pairs[i].From != c.Pairs[j].From {
			return c.Pairs[i].From < c.Pairs[j].From
		}
		return c.Pairs[i].To < c.Pairs[j].To
	})
	d.mu.Lock()
	old := d.compat.Verdict
	d.compat = c
	d.mu.Unlock()
	if old != "" && old != c.Verdict {
		d.event("compat", "overall verdict "+old+" -> "+c.Verdict)
	}
}

// worse reports whether verdict a is worse than b.
func worse(a, b string) bool {
	rank := map[string]int{compat.Compatible.String(): 0, compat.Unproven.String(): 1, compat.Incompatible.String(): 2}
	return rank[a] > rank[b]
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
