package metrics

import (
	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema/registry"
	"github.com/prometheus/client_golang/prometheus"
)

// statsCollector turns a Stats snapshot into counters at every scrape: the figures stay
// where they are counted, and a scrape reads them once.
type statsCollector struct {
	descs []*prometheus.Desc
	read  func() []float64
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	for i, v := range c.read() {
		ch <- prometheus.MustNewConstMetric(c.descs[i], prometheus.CounterValue, v)
	}
}

// stat names one counter of a snapshot.
type stat struct{ name, help string }

func newStatsCollector(sub, service string, stats []stat, read func() []float64) *statsCollector {
	c := &statsCollector{read: read}
	for _, s := range stats {
		c.descs = append(c.descs, prometheus.NewDesc(prometheus.BuildFQName(Namespace, sub, s.name), s.help,
			nil, prometheus.Labels{"service": service}))
	}
	return c
}

var serverStats = []stat{
	{"oneway_received_total", "noResponse requests read by the server's listeners."},
	{"oneway_dropped_total", "noResponse requests dropped without running (shutting down, invalid, unknown method, a limit, a panic)."},
	{"panics_total", "Handlers that panicked."},
	{"oneway_handler_errors_total", "One-way handlers that returned an error after the request was accepted."},
	{"received_bytes_total", "Data bytes of the requests admitted, as they travel (serialized, compressed, sealed)."},
	{"sent_bytes_total", "Data bytes of the responses and stream items sent, as they travel."},
}

// AddServer registers a collector of s.Stats() under the label service=s.Name(), with
// its schema refusals in jesus_validation_refusals_total.
func (m *Metrics) AddServer(s *jesus.Server) error {
	err := m.reg.Register(newStatsCollector("server", s.Name(), serverStats, func() []float64 {
		st := s.Stats()
		return []float64{float64(st.OneWay.Received), float64(st.OneWay.Dropped), float64(st.Panics), float64(st.OneWayErrors),
			float64(st.BytesIn), float64(st.BytesOut)}
	}))
	if err != nil {
		return err
	}
	return m.reg.Register(newRefusals(s.Name(), "server", func() (req, res uint64) {
		st := s.Stats()
		return st.InvalidRequests, st.InvalidReplies
	}))
}

// refusals reports one client's or server's schema refusals by part.
type refusals struct {
	desc *prometheus.Desc
	side string
	read func() (req, res uint64)
}

func newRefusals(service, side string, read func() (req, res uint64)) refusals {
	return refusals{side: side, read: read, desc: prometheus.NewDesc(Namespace+"_validation_refusals_total",
		"Messages refused because they fail a schema, by side and part: a server refuses requests and "+
			"withholds its handlers' responses and items; a client refuses responses and items (bad_response).",
		[]string{"side", "part"}, prometheus.Labels{"service": service})}
}

func (r refusals) Describe(ch chan<- *prometheus.Desc) { ch <- r.desc }

func (r refusals) Collect(ch chan<- prometheus.Metric) {
	req, res := r.read()
	if r.side == "server" {
		ch <- prometheus.MustNewConstMetric(r.desc, prometheus.CounterValue, float64(req), r.side, "request")
	}
	ch <- prometheus.MustNewConstMetric(r.desc, prometheus.CounterValue, float64(res), r.side, "response")
}

var clientStats = []stat{
	{"oneway_sent_total", "noResponse requests handed to a transport (udp: datagrams sent)."},
	{"oneway_delivered_total", "noResponse requests the receiver confirmed it ran."},
	{"oneway_dropped_total", "noResponse requests the receiver dropped (or udp could not send, e.g. oversize)."},
	{"oneway_lost_total", "noResponse requests whose fate is unknown (connection lost before a verdict)."},
	{"bad_responses_total", "Replies and stream items refused because they fail the schema the client expects."},
	{"sent_bytes_total", "Data bytes of the requests sent, as they travel (serialized, compressed, sealed)."},
	{"received_bytes_total", "Data bytes of the responses and stream items received, as they travel."},
}

// AddClient registers a collector of c.Stats() under the label service=name (the name
// the client was created with).
func (m *Metrics) AddClient(name string, c *jesus.Client) error {
	err := m.reg.Register(newStatsCollector("client", name, clientStats, func() []float64 {
		st := c.Stats()
		return []float64{float64(st.OneWay.Sent), float64(st.OneWay.Delivered), float64(st.OneWay.Dropped),
			float64(st.OneWay.Lost), float64(st.BadResponses), float64(st.BytesOut), float64(st.BytesIn)}
	}))
	if err != nil {
		return err
	}
	return m.reg.Register(newRefusals(name, "client", func() (req, res uint64) { return 0, c.Stats().BadResponses }))
}

var busStats = []stat{
	{"emitted_total", "Emit calls whose payload passed the emitter's schema."},
	{"sent_total", "noResponse deliveries handed to the transport."},
	{"acked_total", "ack deliveries acknowledged by a listener."},
	{"retries_total", "ack delivery attempts after the first."},
	{"dropped_total", "noResponse deliveries that could not be sent."},
	{"oversize_total", "Deliveries refused by the transport as too large (e.g. over a udp datagram)."},
	{"failed_total", "ack deliveries that failed for good."},
	{"received_total", "Distinct events accepted for a handler."},
	{"duplicates_total", "ack events seen before within the dedup window."},
	{"decode_errors_total", "Events whose meta could not be read."},
	{"invalid_total", "Payloads that failed the listen schema."},
	{"lost_total", "noResponse events missing from the senders' sequences."},
	{"handler_errors_total", "Event handler runs that returned an error."},
	{"evicted_total", "Event ids forgotten before their dedup window ended."},
	{"tail_dropped_total", "Records a slow Tail reader did not get."},
}

// AddBus registers a collector of b.Stats() under the label service=service.
func (m *Metrics) AddBus(service string, b *events.Bus) error {
	return m.reg.Register(newStatsCollector("events", service, busStats, func() []float64 {
		st := b.Stats()
		return []float64{float64(st.Emitted), float64(st.Sent), float64(st.Acked), float64(st.Retries),
			float64(st.Dropped), float64(st.Oversize), float64(st.Failed), float64(st.Received),
			float64(st.Duplicates), float64(st.DecodeErrors), float64(st.Invalid), float64(st.Lost),
			float64(st.HandlerErrors), float64(st.Evicted), float64(st.TailDropped)}
	}))
}

// AddCache registers a collector of a registry cache's watch state: the etcd revision it
// reflects, how often it listed etcd (one more after each broken or compacted watch), and
// the services and live instances it sees.
func (m *Metrics) AddCache(name string, c *registry.Cache) error {
	return m.reg.Register(&cacheCollector{c: c, descs: [4]*prometheus.Desc{
		prometheus.NewDesc(Namespace+"_registry_revision", "The etcd revision the registry cache reflects.", nil, prometheus.Labels{"cache": name}),
		prometheus.NewDesc(Namespace+"_registry_lists_total", "Times the cache listed etcd: 1, plus one per recovery from a broken watch.", nil, prometheus.Labels{"cache": name}),
		prometheus.NewDesc(Namespace+"_registry_services", "Services with a published version or a live instance.", nil, prometheus.Labels{"cache": name}),
		prometheus.NewDesc(Namespace+"_registry_instances", "Live instances per service.", []string{"service"}, prometheus.Labels{"cache": name}),
	}})
}

type cacheCollector struct {
	c     *registry.Cache
	descs [4]*prometheus.Desc
}

func (c *cacheCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *cacheCollector) Collect(ch chan<- prometheus.Metric) {
	svcs := c.c.Services()
	ch <- prometheus.MustNewConstMetric(c.descs[0], prometheus.GaugeValue, float64(c.c.Revision()))
	ch <- prometheus.MustNewConstMetric(c.descs[1], prometheus.CounterValue, float64(c.c.Lists()))
	ch <- prometheus.MustNewConstMetric(c.descs[2], prometheus.GaugeValue, float64(len(svcs)))
	for _, s := range svcs {
		ch <- prometheus.MustNewConstMetric(c.descs[3], prometheus.GaugeValue, float64(len(c.c.Instances(s))), s)
	}
}
