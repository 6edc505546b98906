// Package metrics exports what jesus clients, servers and event buses do as Prometheus
// metrics: an Interceptor counts calls, errors by code, latency and calls in flight per
// service, method, mode and channel on both ends, and collectors read the Stats of
// clients, servers and buses (one-way drops, udp losses, panics, event deliveries).
//
// Metrics are off unless a Client or Server is given Option(); a nil *Metrics is never
// needed: with no option, nothing is counted and nothing is paid.
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
	inflight *prometheus.Desc // read from series at each scrape
	reg      prometheus.Registerer

	// series caches the resolved metrics of one (side, method, mode, channel), so that a
	// call costs one map lookup, not a hash of every label on every vector.
	series sync.Map // seriesKey -> *series
}

type seriesKey struct {
	server  bool
	method  string
	mode    jesus.Mode
	channel string
}

type series struct {
	inflight atomic.Int64 // an add is cheaper than a float gauge's compare-and-swap loop
	latency  prometheus.Observer
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
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "requests_total",
			Help: "Calls finished, by side (client/server), service, method, mode, channel and code (ok for success)."}, withCode),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "errors_total",
			Help: "Calls that ended in an error, by code."}, withCode),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: "request_duration_seconds",
			Help: "Time from the call's start to its end, on either side.", Buckets: DefaultBuckets}, base),
		inflight: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", "requests_in_flight"),
			"Calls started and not yet finished.", base, nil),
	}
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

func (ic interceptor) WrapUnary(next jesus.UnaryFunc) jesus.UnaryFunc {
	m := ic.m
	return func(ctx context.Context, inv *jesus.Invocation) error {
		start := time.Now()
		var s *series
		if inv.Server {
			s = m.seriesOf(inv, inv.Meta.Channel)
			s.inflight.Add(1)
		}
		err := next(ctx, inv)
		if s == nil { // a client learns its channel once next picked the route
			s = m.seriesOf(inv, clientChannel(inv))
			s.inflight.Add(1)
		}
		s.done(start, err)
		return err
	}
}

func (ic interceptor) WrapStream(next jesus.StreamFunc) jesus.StreamFunc {
	m := ic.m
	return func(ctx context.Context, inv *jesus.Invocation, send func(any) error) error {
		start := time.Now()
		var s *series
		if inv.Server {
			s = m.seriesOf(inv, inv.Meta.Channel)
			s.inflight.Add(1)
		}
		err := next(ctx, inv, send)
		if s == nil {
			s = m.seriesOf(inv, clientChannel(inv))
			s.inflight.Add(1)
		}
		s.done(start, err)
		return err
	}
}

// clientChannel is the channel a client call went over, once sent.
func clientChannel(inv *jesus.Invocation) string {
	if inv.Meta.Channel != "" {
		return inv.Meta.Channel
	}
	if r, ok := inv.Request.(*jesus.Request); ok {
		return r.Route.Spec.Name()
	}
	return ""
}

func (s *series) done(start time.Time, err error) {
	s.latency.Observe(time.Since(start).Seconds())
	s.inflight.Add(-1)
	code := jesus.Code("ok")
	if err != nil {
		code = jesus.AsError(err).Code
	}
	s.count(code, err != nil)
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

func (m *Metrics) seriesOf(inv *jesus.Invocation, ch string) *series {
	k := seriesKey{server: inv.Server, method: inv.Method, mode: inv.Mode, channel: ch}
	if v, ok := m.series.Load(k); ok {
		return v.(*series)
	}
	side := "client"
	if inv.Server {
		side = "server"
	}
	svc := inv.Method
	if i := strings.IndexByte(svc, '.'); i >= 0 {
		svc = svc[:i]
	}
	labels := []string{side, svc, inv.Method, inv.Mode.String(), ch}
	s := &series{
		latency: m.latency.WithLabelValues(labels...),
		labels:  labels,
		m:       m,
	}
	v, _ := m.series.LoadOrStore(k, s)
	return v.(*series)
}

// inflight reports the in-flight count of every series.
type inflight struct{ m *Metrics }

func (c inflight) Describe(ch chan<- *prometheus.Desc) { ch <- c.m.inflight }

func (c inflight) Collect(ch chan<- prometheus.Metric) {
	c.m.series.Range(func(_, v any) bool {
		s := v.(*series)
		ch <- prometheus.MustNewConstMetric(c.m.inflight, prometheus.GaugeValue, float64(s.inflight.Load()), s.labels...)
		return true
	})
}
