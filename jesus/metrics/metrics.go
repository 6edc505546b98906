// Package metrics exports what jesus clients, servers and event buses do as Prometheus
// metrics: an Interceptor counts calls, errors by code, latency and calls in flight per
// service, method, mode and channel on both ends, and collectors read the Stats of
// clients, servers, buses and registry caches (one-way drops, udp losses, panics, event
// deliveries, the registry watch) at each scrape.
//
// Metrics are off unless a Client or Server is given Metrics.Option (a bus:
// events.WithInterceptors(m.Interceptor())); without it nothing is counted and nothing is
// paid. A client's latency is the whole call; a server's runs from after the request was
// decoded and checked to the end of the handler, as interceptors see it.
package metrics

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jesus-go/jesus/jesus"
	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes every metric name.
const Namespace = "jesus"

// DefaultBuckets are the latency histogram's upper bounds, in seconds: 50µs to 10s.
var DefaultBuckets = []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10}

// Metrics holds the vectors of one registry. It is safe for concurrent use; one Metrics
// serves any number of clients, servers and buses.
type Metrics struct {
	requests *prometheus.CounterVec
	errors   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	inflight *prometheus.Desc // read from the entries at each scrape
	reg      prometheus.Registerer

	// entries holds one entry per method, copy-on-write: a call looks its method up with
	// one string hash and no lock, not a hash of every label on every vector.
	entries atomic.Pointer[map[string]*entry]
	mu      sync.Mutex // serialises writers of entries
}

// entry is one method's figures: calls in flight per side and mode, and the resolved
// series of each side, mode and channel it was seen on.
type entry struct {
	method, service string
	side            [2]sideCounts             // [server]: a client and a server in one process touch apart lines
	series          atomic.Pointer[[]*series] // copy-on-write, a handful at most
	mu              sync.Mutex
}

// sideCounts are one side's calls in flight per mode; an add is cheaper than a float
// gauge's compare-and-swap loop. The padding keeps each side on its own cache lines.
type sideCounts struct {
	_        [64]byte
	inflight [5]atomic.Int64
	used     [5]atomic.Bool
	_        [64]byte
}

type series struct {
	server  bool
	mode    jesus.Mode
	channel string
	latency prometheus.Observer
	// byCode holds the counters of each code, resolved on first use; slot 0 is "ok".
	byCode [len(codes) + 1]atomic.Pointer[codeCounters]
	labels []string // side, service, method, mode, channel
	m      *Metrics
}

type codeCounters struct{ requests, errors prometheus.Counter }

// codes is the closed set of jesus codes, in slot order after "ok".
var codes = [...]jesus.Code{
	jesus.CodeCanceled, jesus.CodeUnknown, jesus.CodeInvalidArgument, jesus.CodeDeadlineExceeded,
	jesus.CodeNotFound, jesus.CodeAlreadyExists, jesus.CodePermissionDenied, jesus.CodeResourceExhausted,
	jesus.CodeFailedPrecondition, jesus.CodeUnimplemented, jesus.CodeInternal, jesus.CodeUnavailable,
	jesus.CodeUnauthenticated, jesus.CodeIncompatible, jesus.CodeBadResponse,
}

// slotOf is the slot of a code; a code outside the set counts as unknown.
func slotOf(c jesus.Code) int {
	for i, k := range codes {
		if k == c {
			return i + 1
		}
	}
	return 2 // unknown
}

// New creates the call metrics and registers them with reg (e.g. prometheus.NewRegistry()
// or prometheus.DefaultRegisterer).
func New(reg prometheus.Registerer) (*Metrics, error) {
	base := []string{"side", "service", "method", "mode", "channel"}
	withCode := append(append([]string(nil), base...), "code")
	empty := map[string]*entry{}
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "requests_total",
			Help: "Calls finished, by side (client/server), service, method, mode, channel and code (ok for success)."}, withCode),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "errors_total",
			Help: "Calls that ended in an error, by code."}, withCode),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "request_duration_seconds",
			Help: "Time from the call's start to its end, on either side.", Buckets: DefaultBuckets}, base),
		inflight: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "requests_in_flight"),
			"Calls started and not yet finished.", []string{"side", "service", "method", "mode"}, nil),
	}
	m.entries.Store(&empty)
	for _, c := range []prometheus.Collector{m.requests, m.errors, m.latency, inflight{m}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Option turns the call metrics on for a jesus.Client or jesus.Server.
func (m *Metrics) Option() jesus.Option { return jesus.WithInterceptors(m.Interceptor()) }

// Interceptor returns the interceptor behind Option, to place among others.
func (m *Metrics) Interceptor() jesus.Interceptor { return interceptor{m} }

type interceptor struct{ m *Metrics }

// epoch makes durations from one read of the monotonic clock each: time.Now reads the
// wall clock as well, and on some machines a clock read is a good part of a call.
var epoch = time.Now()

func (ic interceptor) WrapUnary(next jesus.UnaryFunc) jesus.UnaryFunc {
	m := ic.m
	var last atomic.Pointer[entry] // a server wraps each method apart: it hits every time
	return func(ctx context.Context, inv *jesus.Invocation) error {
		e, side, mode := m.begin(inv, &last)
		start := time.Since(epoch)
		err := next(ctx, inv)
		m.end(e, inv, side, mode, time.Since(epoch)-start, err)
		return err
	}
}

func (ic interceptor) WrapStream(next jesus.StreamFunc) jesus.StreamFunc {
	m := ic.m
	var last atomic.Pointer[entry]
	return func(ctx context.Context, inv *jesus.Invocation, send func(any) error) error {
		e, side, mode := m.begin(inv, &last)
		start := time.Since(epoch)
		err := next(ctx, inv, send)
		m.end(e, inv, side, mode, time.Since(epoch)-start, err)
		return err
	}
}

// begin finds inv's entry and counts the call in flight.
func (m *Metrics) begin(inv *jesus.Invocation, last *atomic.Pointer[entry]) (e *entry, side, mode int) {
	e = last.Load()
	if e == nil || e.method != inv.Method {
		e = m.entryOf(inv.Method)
		last.Store(e)
	}
	if inv.Server {
		side = 1
	}
	if inv.Mode.Valid() {
		mode = int(inv.Mode)
	}
	sc := &e.side[side]
	sc.inflight[mode].Add(1)
	if !sc.used[mode].Load() {
		sc.used[mode].Store(true)
	}
	return e, side, mode
}

// end records a finished call; a client learns its channel once next picked the route.
func (m *Metrics) end(e *entry, inv *jesus.Invocation, side, mode int, took time.Duration, err error) {
	e.side[side].inflight[mode].Add(-1)
	ch := inv.Meta.Channel
	if ch == "" && !inv.Server {
		ch = clientChannel(inv)
	}
	s := e.seriesOf(m, inv.Server, inv.Mode, ch)
	s.latency.Observe(took.Seconds())
	code := jesus.Code("ok")
	if err != nil {
		code = jesus.AsError(err).Code
	}
	s.count(code, err != nil)
}

// clientChannel is the channel a client call went over, once sent.
func clientChannel(inv *jesus.Invocation) string {
	if r, ok := inv.Request.(*jesus.Request); ok {
		return r.Route.Spec.Name()
	}
	return ""
}

// count adds one call that ended with code (failed false: "ok").
func (s *series) count(code jesus.Code, failed bool) {
	slot := 0
	if failed {
		slot = slotOf(code)
	}
	cc := s.byCode[slot].Load()
	if cc == nil {
		name := "ok"
		if slot > 0 {
			name = string(codes[slot-1])
		}
		lv := append(append([]string(nil), s.labels...), name)
		cc = &codeCounters{requests: s.m.requests.WithLabelValues(lv...)}
		if failed {
			cc.errors = s.m.errors.WithLabelValues(lv...)
		}
		s.byCode[slot].Store(cc) // a race stores the same children: WithLabelValues is idempotent
	}
	cc.requests.Inc()
	if cc.errors != nil {
		cc.errors.Inc()
	}
}

// entryOf returns the entry of method, made on first use.
func (m *Metrics) entryOf(method string) *entry {
	if e := (*m.entries.Load())[method]; e != nil {
		return e
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.entries.Load()
	if e := old[method]; e != nil {
		return e
	}
	svc, _, _ := strings.Cut(method, ".")
	e := &entry{method: method, service: svc}
	empty := []*series{}
	e.series.Store(&empty)
	next := make(map[string]*entry, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[method] = e
	m.entries.Store(&next)
	return e
}

// seriesOf returns e's series of one side, mode and channel, made on first use.
func (e *entry) seriesOf(m *Metrics, server bool, mode jesus.Mode, ch string) *series {
	for _, s := range *e.series.Load() {
		if s.server == server && s.mode == mode && s.channel == ch {
			return s
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	old := *e.series.Load()
	for _, s := range old {
		if s.server == server && s.mode == mode && s.channel == ch {
			return s
		}
	}
	labels := []string{sideName(server), e.service, e.method, mode.String(), ch}
	s := &series{server: server, mode: mode, channel: ch, latency: m.latency.WithLabelValues(labels...), labels: labels, m: m}
	next := append(append(make([]*series, 0, len(old)+1), old...), s)
	e.series.Store(&next)
	return s
}

func sideName(server bool) string {
	if server {
		return "server"
	}
	return "client"
}

// inflight reports the calls in flight of every method, side and mode seen.
type inflight struct{ m *Metrics }

func (c inflight) Describe(ch chan<- *prometheus.Desc) { ch <- c.m.inflight }

func (c inflight) Collect(ch chan<- prometheus.Metric) {
	for _, e := range *c.m.entries.Load() {
		for side := range e.side {
			sc := &e.side[side]
			for mode := range sc.inflight {
				if !sc.used[mode].Load() {
					continue
				}
				ch <- prometheus.MustNewConstMetric(c.m.inflight, prometheus.GaugeValue, float64(sc.inflight[mode].Load()),
					sideName(side == 1), e.service, e.method, jesus.Mode(mode).String())
			}
		}
	}
}
