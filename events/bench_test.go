package events_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/udpchan/udptest"
	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
)

// newSlots is the credit window of the one-way benchmarks: at most 256 events (or
// datagrams) in flight, enough to keep both sides busy, few enough that socket buffers do
// not overflow, so that what is measured is the delivered rate, not how fast a sender can
// throw datagrams away. The raw baseline and the events use the same window.
func newSlots() *udptest.Window { return udptest.NewWindow(256, 200*time.Millisecond) }

// rawUDP is a loopback datagram pair: a writer and a reader that frees a window slot per
// datagram read, moving batch datagrams per system call on each side (1: write and
// recvfrom; more: sendmmsg and recvmmsg, as the udp transport does).
type rawUDP struct {
	rc, sc *net.UDPConn
	batch  int
	s      *udptest.Window
	got    atomic.Int64
	done   chan struct{}
}

func newRawUDP(b *testing.B, batch int) *rawUDP {
	b.Helper()
	rc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	rc.SetReadBuffer(4 << 20)
	sc, err := net.DialUDP("udp", nil, rc.LocalAddr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	r := &rawUDP{rc: rc, sc: sc, batch: batch, s: newSlots(), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		pc := ipv4.NewPacketConn(rc)
		msgs := make([]ipv4.Message, batch)
		for i := range msgs {
			msgs[i].Buffers = [][]byte{make([]byte, 64<<10)}
		}
		for {
			n, err := 1, error(nil)
			if batch == 1 {
				_, _, err = rc.ReadFromUDPAddrPort(msgs[0].Buffers[0])
			} else {
				n, err = pc.ReadBatch(msgs, 0)
			}
			if err != nil {
				return
			}
			for range n {
				r.got.Add(1)
				r.s.Give()
			}
		}
	}()
	b.Cleanup(func() {
		sc.Close()
		rc.Close()
		<-r.done
	})
	return r
}

// send writes n datagrams of size bytes, keeping at most window in flight, and returns
// when the reader has them all (or gave up on lost ones).
func (r *rawUDP) send(b *testing.B, n, size int) time.Duration {
	pkt := make([]byte, size)
	pc := ipv4.NewPacketConn(r.sc)
	msgs := make([]ipv4.Message, r.batch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{pkt}
	}
	start := time.Now()
	for i := 0; i < n; {
		k := min(r.batch, n-i)
		for range k {
			r.s.Take()
		}
		if k == 1 {
			if _, err := r.sc.Write(pkt); err != nil {
				b.Fatal(err)
			}
		}
		for sent := 0; k > 1 && sent < k; {
			m, err := pc.WriteBatch(msgs[sent:k], 0)
			if err != nil {
				b.Fatal(err)
			}
			sent += m
		}
		i += k
	}
	r.s.Drain()
	return time.Since(start)
}

// BenchmarkLogUDP measures log events per second over udp+msgpack in noResponse, emitter
// to listener handler (schema checks on both sides), against baselines in the same run:
// raw loopback datagrams of the same size, writer to reader, one system call per
// datagram on each side (the raw rate the target names) and 32 per call
// (sendmmsg/recvmmsg, what the udp transport itself uses, for scale); and plain
// jesus.Send calls over udp+msgpack without schema, the layer events build on. They
// alternate in ten rounds, so that all see the same load of the machine. One op is one
// event, one datagram of each raw kind and one jesus.Send; ratio is events/s over raw
// datagrams/s, ratio-to-batched over the batched ones. Run it with a fixed count, e.g.
// -benchtime=50000x: each run starts an embedded etcd.
func BenchmarkLogUDP(b *testing.B) {
	set := loadSchemas(b)
	reg, cache := startRegistry(b)
	s := newSlots()
	var got atomic.Int64
	audit := startNode(b, set, reg, cache, "audit", true, func(bus *events.Bus) {
		must(b, events.On(bus, "log", func(ctx context.Context, ev events.Event[LogRecord]) error {
			got.Add(1)
			s.Give()
			return nil
		}))
	})
	waitFor(b, "audit in the registry", func() bool { return len(cache.Instances("audit")) == 1 })
	orders := emitter(b, set, cache, "orders")
	ctx := context.Background()
	rec := logRecord(1)
	size := datagramSize(b, rec)
	raw := newRawUDP(b, 1)
	rawBatched := newRawUDP(b, 32)

	plain := newPlainUDP(b)

	b.ReportAllocs()
	b.ResetTimer()
	const rounds = 10
	var rawTime, batchedTime, evTime, plainTime time.Duration
	for r := range rounds {
		n := b.N / rounds
		if r == rounds-1 {
			n = b.N - (rounds-1)*(b.N/rounds)
		}
		rawTime += raw.send(b, n, size)
		batchedTime += rawBatched.send(b, n, size)
		start := time.Now()
		for range n {
			s.Take()
			if _, err := events.Emit(ctx, orders, "log", rec); err != nil {
				b.Fatal(err)
			}
		}
		s.Drain()
		evTime += time.Since(start)
		plainTime += plain.send(b, n, rec)
	}
	b.StopTimer()
	evRate := float64(got.Load()) / evTime.Seconds()
	rawRate := float64(raw.got.Load()) / rawTime.Seconds()
	st := audit.bus.Stats()
	b.ReportMetric(evRate, "events/s")
	b.ReportMetric(rawRate, "raw-datagrams/s")
	b.ReportMetric(evRate/rawRate, "ratio")
	batchedRate := float64(rawBatched.got.Load()) / batchedTime.Seconds()
	b.ReportMetric(batchedRate, "raw-batched-datagrams/s")
	b.ReportMetric(evRate/batchedRate, "ratio-to-batched")
	b.ReportMetric(float64(plain.got.Load())/plainTime.Seconds(), "jesus-send/s")
	b.ReportMetric(100*float64(uint64(b.N)-st.Received)/float64(b.N), "%event-loss")
	b.ReportMetric(100*float64(int64(b.N)-raw.got.Load())/float64(b.N), "%raw-loss")
	b.ReportMetric(float64(size), "datagram-bytes")
}

// plainUDP is a plain jesus one-way method over udp+msgpack (no schema, no event meta):
// what the jesus layer alone costs per message.
type plainUDP struct {
	cli   *jesus.Client
	got   atomic.Int64
	slots *udptest.Window
}

func newPlainUDP(b *testing.B) *plainUDP {
	p := &plainUDP{slots: newSlots()}
	srv := jesus.NewServer("plain")
	jesus.HandleOneWay(srv, "log", func(ctx context.Context, r LogRecord) error {
		p.got.Add(1)
		p.slots.Give()
		return nil
	})
	spec, err := srv.Listen(context.Background(), "udp+msgpack://127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	p.cli = jesus.NewClient("orders", jesus.WithTarget(spec.String()))
	b.Cleanup(func() { p.cli.Close() })
	return p
}

// send sends rec n times, as fast as the slots let it, and returns how long it took
// until every one arrived.
func (p *plainUDP) send(b *testing.B, n int, rec LogRecord) time.Duration {
	start := time.Now()
	for range n {
		p.slots.Take()
		if err := jesus.Send(context.Background(), p.cli, "plain.log", rec); err != nil {
			b.Fatal(err)
		}
	}
	p.slots.Drain()
	return time.Since(start)
}

// datagramSize is the size of the datagram a log event travels in.
func datagramSize(b *testing.B, rec LogRecord) int {
	b.Helper()
	env := &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeNoResponse, ID: 1 << 28,
		Method: events.WireMethod("audit", "log"), Codec: "msgpack",
		Meta: channel.Meta{CorrID: "0f8fad5b-d9cb-469f-a165-70867728950e", From: "orders", ReqIn: time.Now().UnixNano(), ReqOut: time.Now().UnixNano(),
			Channel: "udp+msgpack", Extra: map[string]string{events.ExtraEvent: "log", events.ExtraID: "0f8fad5b-d9cb-469f-a165-70867728950e",
				events.ExtraSeq: "12345", events.ExtraSource: "0f8fad5b-d9cb-469f-a165-70867728950e/0f8fad5b-d9cb-469f-a165-70867728950e"}},
		Timeout: 10 * time.Second}
	env.Data = make([]byte, 70) // a msgpack LogRecord of logRecord's shape
	return len(channel.AppendEnvelope(nil, env))
}

// parallel runs f n times over workers goroutines and returns how long that took.
func parallel(n, workers int, f func() error) (time.Duration, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := f(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return time.Since(start), <-errs
}

// BenchmarkDomainAck measures acked order.created events per second over http+json+gzip to
// one listening service, 16 emits at once, against plain jesus.Ack calls of the same
// request to the same server (the layer events build on: no emitter-side schema check, no
// event meta). The two alternate in ten rounds so that both see the same machine load.
// One op is one event and one jesus.Ack.
func BenchmarkDomainAck(b *testing.B) {
	set := loadSchemas(b)
	reg, cache := startRegistry(b)
	billing := startNode(b, set, reg, cache, "billing", true, func(bus *events.Bus) {
		must(b, events.On(bus, "order.created", func(ctx context.Context, ev events.Event[OrderCreated]) error { return nil }))
	})
	waitFor(b, "billing in the registry", func() bool { return len(cache.Instances("billing")) == 1 })
	orders := emitter(b, set, cache, "orders")
	// The listener drops these (no event id) after acking them: the cost measured is the
	// request and its ack, as for an event.
	cli := jesus.NewClient("orders", jesus.WithTarget(billing.srv.Endpoints()["domain"]))
	b.Cleanup(func() { cli.Close() })
	ev := order(1)
	ctx := context.Background()
	method := events.WireMethod("billing", "order.created")

	b.ReportAllocs()
	b.ResetTimer()
	const rounds, workers = 10, 16
	var evTime, ackTime time.Duration
	for r := range rounds {
		n := b.N / rounds
		if r == rounds-1 {
			n = b.N - (rounds-1)*(b.N/rounds)
		}
		d, err := parallel(n, workers, func() error {
			_, err := events.Emit(ctx, orders, "order.created", ev)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		evTime += d
		d, err = parallel(n, workers, func() error { return jesus.Ack(ctx, cli, method, ev) })
		if err != nil {
			b.Fatal(err)
		}
		ackTime += d
	}
	b.StopTimer()
	evRate, ackRate := float64(b.N)/evTime.Seconds(), float64(b.N)/ackTime.Seconds()
	b.ReportMetric(evRate, "events/s")
	b.ReportMetric(ackRate, "jesus-ack/s")
	b.ReportMetric(evRate/ackRate, "ratio")
}
