package jesus

import (
	"context"
	"math"
	"math/bits"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/schema"
)

// The service API: every Server answers these methods on each of its channels, in
// response mode, without handlers of the application (the model is NATS micro's PING,
// INFO and STATS). Their wire names are "<service>.$ping" and so on; the bare "$ping"
// works too, for a tool that knows an address but not the service. The request data is
// ignored (send null).
const (
	APIPing  = "$ping"
	APIInfo  = "$info"
	APIStats = "$stats"
)

// Ping is the answer to $ping.
type Ping struct {
	Service string    `json:"service"`
	ID      string    `json:"id"`                // the instance id, as registered
	Version string    `json:"version,omitempty"` // the descriptor's version, when known
	Started time.Time `json:"started"`
	Uptime  string    `json:"uptime"` // time since NewServer, e.g. "1h2m3s"
}

// Info is the answer to $info.
type Info struct {
	Ping
	Methods   []MethodInfo      `json:"methods"`
	Endpoints map[string]string `json:"endpoints"` // every channel listened on: name (or spec name) -> spec with address
}

// MethodInfo is one method of an Info.
type MethodInfo struct {
	Name    string   `json:"name"`              // wire name, "service.method"
	Modes   []string `json:"modes"`             // the modes its handler accepts
	Channel string   `json:"channel,omitempty"` // the descriptor's channel, when known
}

// Stats is the answer to $stats.
type Stats struct {
	Ping
	Methods []MethodStats `json:"methods"`
}

// MethodStats are one method's figures since NewServer: requests admitted to the method
// (including those refused as invalid), those that ended in an error, and processing
// time from admission to the last reply.
type MethodStats struct {
	Name        string    `json:"name"`
	Requests    uint64    `json:"requests"`
	Errors      uint64    `json:"errors"`
	AvgNanos    int64     `json:"avg_ns"`
	P99Nanos    int64     `json:"p99_ns"` // an upper bound within 25%
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// serviceAPI is a server's part of the service API.
type serviceAPI struct {
	id      string
	started time.Time
	desc    atomic.Pointer[schema.Descriptor]
	methods map[string]*method // by bare name: $ping, $info, $stats
}

func (a *serviceAPI) init(s *Server) {
	a.id = uuid.NewString()
	a.started = time.Now()
	a.methods = map[string]*method{
		APIPing:  apiMethod(APIPing, func() any { return s.ping() }),
		APIInfo:  apiMethod(APIInfo, func() any { return s.info() }),
		APIStats: apiMethod(APIStats, func() any { return s.stats() }),
	}
}

// apiMethod makes a method of the service API: no interceptors, no validation.
func apiMethod(name string, answer func() any) *method {
	m := &method{name: name, kind: "response"}
	m.modes[ModeResponse] = true
	m.vals.Store(&methodVals{})
	m.serve = func(ctx context.Context, c *call) { c.reply(ctx, channel.TypeResponse, answer()) }
	return m
}

// apiLookup returns the service API method that wire names, or nil.
func (s *Server) apiLookup(wire string) *method {
	name, ok := strings.CutPrefix(wire, s.name+".")
	if !ok {
		name = wire
	}
	if len(name) == 0 || name[0] != '$' {
		return nil
	}
	return s.svcAPI.methods[name]
}

// ID is the server's instance id: what $ping answers and Register registers.
func (s *Server) ID() string { return s.svcAPI.id }

// SetDescriptor tells the service API the descriptor the server implements: $ping and
// $info then name its version and each method's channel. ListenDescriptor calls it.
func (s *Server) SetDescriptor(d *schema.Descriptor) { s.svcAPI.desc.Store(d) }

func (s *Server) ping() Ping {
	p := Ping{Service: s.name, ID: s.svcAPI.id, Started: s.svcAPI.started,
		Uptime: time.Since(s.svcAPI.started).Round(time.Second).String()}
	if d := s.svcAPI.desc.Load(); d != nil {
		p.Version = d.Version
	}
	return p
}

// appMethods returns the application's methods, sorted by name.
func (s *Server) appMethods() []*method {
	all := *s.methods.Load()
	out := make([]*method, 0, len(all))
	for _, m := range all {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func (s *Server) info() Info {
	in := Info{Ping: s.ping(), Endpoints: map[string]string{}}
	d := s.svcAPI.desc.Load()
	for _, m := range s.appMethods() {
		mi := MethodInfo{Name: m.name, Modes: []string{}}
		for mode := ModeNoResponse; mode <= ModeStream; mode++ {
			if m.modes[mode] {
				mi.Modes = append(mi.Modes, mode.String())
			}
		}
		if d != nil {
			if dm, ok := d.Methods[strings.TrimPrefix(m.name, d.Service+".")]; ok {
				mi.Channel = dm.Channel
			}
		}
		in.Methods = append(in.Methods, mi)
	}
	s.mu.Lock()
	for _, l := range s.listeners {
		key := l.name
		if key == "" {
			key = l.specName
		}
		in.Endpoints[key] = l.spec.String()
	}
	s.mu.Unlock()
	return in
}

func (s *Server) stats() Stats {
	st := Stats{Ping: s.ping(), Methods: []MethodStats{}}
	for _, m := range s.appMethods() {
		st.Methods = append(st.Methods, m.stats.snapshot(m.name))
	}
	return st
}

// epoch anchors monotonic: time.Since(epoch) reads the monotonic clock once, where
// time.Now reads the wall clock as well.
var epoch = time.Now()

// monotonic is the time since the process's epoch, for measuring durations cheaply.
func monotonic() time.Duration { return time.Since(epoch) }

// latencyBuckets holds processing times in buckets of a quarter of a power of two
// (nanoseconds), so that a percentile costs no sample store and is off by at most 25%.
const latencyBuckets = 64 * 4

// methodStats are the figures of one method, kept with atomics: recording a call costs
// a few adds, no lock.
type methodStats struct {
	requests, errors atomic.Uint64
	totalNanos       atomic.Int64
	buckets          [latencyBuckets]atomic.Uint64
	lastErr          atomic.Pointer[lastError]
}

type lastError struct {
	msg string
	at  time.Time
}

// bucketOf is the bucket of a duration of ns nanoseconds.
func bucketOf(ns int64) int {
	if ns < 4 {
		return int(max(ns, 0))
	}
	l := bits.Len64(uint64(ns))       // ns in [2^(l-1), 2^l)
	sub := int(uint64(ns)>>(l-3)) & 3 // the two bits after the leading one
	return (l-2)*4 + sub
}

// bucketTop is the upper bound (exclusive) of bucket b, in nanoseconds.
func bucketTop(b int) int64 {
	if b < 4 {
		return int64(b) + 1
	}
	l, sub := b/4+2, b%4
	top := uint64(4+sub+1) << (l - 3)
	if top > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(top)
}

// record adds one call that took d and ended with e (nil: success).
func (ms *methodStats) record(d time.Duration, e *Error) {
	ms.requests.Add(1)
	ms.totalNanos.Add(int64(d))
	ms.buckets[bucketOf(int64(d))].Add(1)
	if e != nil {
		ms.errors.Add(1)
		ms.lastErr.Store(&lastError{msg: string(e.Code) + ": " + e.Message, at: time.Now()})
	}
}

func (ms *methodStats) snapshot(name string) MethodStats {
	out := MethodStats{Name: name, Requests: ms.requests.Load(), Errors: ms.errors.Load()}
	if out.Requests == 0 {
		return out
	}
	out.AvgNanos = ms.totalNanos.Load() / int64(out.Requests)
	var counts [latencyBuckets]uint64
	var n uint64
	for i := range ms.buckets {
		counts[i] = ms.buckets[i].Load()
		n += counts[i]
	}
	rank, seen := (n*99+99)/100, uint64(0) // the ceil(0.99 n)-th smallest
	for i, c := range counts {
		seen += c
		if seen >= rank && c > 0 {
			out.P99Nanos = bucketTop(i)
			break
		}
	}
	if le := ms.lastErr.Load(); le != nil {
		out.LastError, out.LastErrorAt = le.msg, le.at
	}
	return out
}
