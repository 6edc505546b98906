package jesus_test

// What TLS and sealing cost: jesus over tcp+msgpack plaintext, with mutual TLS 1.3, and
// with mutual TLS plus sealed requests (+seal), next to grpc-go plaintext and with mutual TLS 1.3,
// all in the same process. The share TLS takes of each system's calls/s and CPU per call is
// what is compared.
//
//	go test -run XXX -bench BenchmarkSecurity -benchtime 1x ./jesus/
//
// On a small machine shared with other work one measurement's rate can be off by half, so
// every system is started once and then measured in short windows, interleaved: each
// round measures every system once, in an order that turns from round to round, so that
// a burst of outside load falls on all of them alike. The table gives medians over the
// rounds, and the cost of TLS as the median of the per-round costs (the on and off
// windows of one round are seconds apart).

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/tlsconf"
	"github.com/jesus-go/jesus/channel/tlsconf/tlstest"
	"github.com/jesus-go/jesus/codec/seal"
	"github.com/jesus-go/jesus/jesus"
)

// benchCA issues the certificates of every TLS system of the run.
var benchCA = tlstest.NewCA("bench ca")

// jesusTLS returns a channel config with mutual TLS from files, as a service runs it.
func jesusTLS(b *testing.B, service string) channel.Config {
	b.Helper()
	dir := b.TempDir()
	p, err := benchCA.WriteFiles(dir, tlstest.Localhost(service, "bench.local"))
	if err != nil {
		b.Fatal(err)
	}
	src, err := tlsconf.Load(tlsconf.Files{CA: p.CA, Cert: p.Cert, Key: p.Key})
	if err != nil {
		b.Fatal(err)
	}
	return channel.Config{TLS: src.Config()}
}

// startJesusSecure serves shop.create, validated at both ends, on tcp+msgpack with
// mutual TLS; with sealed, on tcp+msgpack+seal, every request sealed to the server's key.
func startJesusSecure(sealed bool) func(b *testing.B) system {
	return func(b *testing.B) system {
		b.Helper()
		set := compareSchemas(b)
		srvOpts := []jesus.Option{jesus.WithValidation(jesus.ServiceSchemas(set, "shop", "1.0.0")), jesus.WithChannelConfig(jesusTLS(b, "shop"))}
		cliOpts := []jesus.Option{jesus.WithValidation(jesus.ReceiverSchemas(set)), jesus.WithChannelConfig(jesusTLS(b, "bench"))}
		spec := "tcp+msgpack://127.0.0.1:0"
		if sealed {
			priv, _ := seal.GenerateKey()
			o, _ := seal.NewOpener(priv)
			srvOpts = append(srvOpts, jesus.WithOpener(o))
			cliOpts = append(cliOpts, jesus.WithSealKeys(jesus.SealTo(o.PublicKey())))
			spec = "tcp+msgpack+seal://127.0.0.1:0"
		}
		s := jesus.NewServer("shop", srvOpts...)
		jesus.Handle(s, "create", func(ctx context.Context, o ShopOrder) (ShopReceipt, error) {
			return receiptFor(&o), nil
		})
		bound, err := s.Listen(context.Background(), spec)
		if err != nil {
			b.Fatal(err)
		}
		c := jesus.NewClient("bench", append([]jesus.Option{jesus.WithTarget(bound.String())}, cliOpts...)...)
		b.Cleanup(func() { c.Close(); s.Close() })
		return system{call: func(ctx context.Context, o *ShopOrder) error {
			_, err := jesus.Call[*ShopOrder, ShopReceipt](ctx, c, "shop.create", o)
			return err
		}}
	}
}

// startGRPCTLS is startGRPC with mutual TLS 1.3 from the same CA.
func startGRPCTLS(b *testing.B) system {
	b.Helper()
	srvCert := benchCA.Pair(tlstest.Localhost("shop", "bench.local"))
	cliCert := benchCA.Pair(tlstest.Localhost("bench", "bench.local"))
	srvCfg := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{srvCert},
		ClientCAs: benchCA.Pool(), ClientAuth: tls.RequireAndVerifyClientCert}
	cliCfg := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cliCert}, RootCAs: benchCA.Pool()}
	ln := listenLoopback(b)
	srv := grpc.NewServer(grpc.ForceServerCodec(jsonCodec{}), grpc.Creds(credentials.NewTLS(srvCfg)))
	srv.RegisterService(&grpcDesc, struct{}{})
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(ln) }()
	cc, err := grpc.NewClient(ln.Addr().String(),
		grpc.WithTransportCredentials(credentials.NewTLS(cliCfg)),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(jsonCodec{})))
	if err != nil {
		srv.Stop()
		b.Fatal(err)
	}
	b.Cleanup(func() { cc.Close(); srv.Stop(); <-served })
	return system{call: func(ctx context.Context, o *ShopOrder) error {
		var r ShopReceipt
		return cc.Invoke(ctx, "/bench.Shop/Create", o, &r)
	}}
}

const (
	secJesus     = "jesus-tcp+msgpack"
	secJesusTLS  = "jesus-tcp+msgpack mTLS"
	secJesusSeal = "jesus-tcp+msgpack mTLS+seal"
	secGRPC      = "grpc-json"
	secGRPCTLS   = "grpc-json mTLS"
)

// secRounds windows of secWindow each system gets per number of callers.
const (
	secRounds = 9
	secWindow = time.Second
	secWarmup = 150 * time.Millisecond
)

// window is one measurement: calls/s and process CPU (getrusage, user + system, both
// ends) per call.
type window struct {
	rate float64
	cpu  time.Duration
}

// measureWindow runs conc callers of call for warmup, then measures secWindow, then stops
// them. A failed call fails the benchmark.
func measureWindow(b *testing.B, conc int, call func(ctx context.Context) error) window {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	var calls atomic.Int64
	var stop atomic.Bool
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if err := call(ctx); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				calls.Add(1)
			}
		}()
	}
	<-time.After(secWarmup)
	n0, t0, cpu0 := calls.Load(), time.Now(), cpuTime()
	<-time.After(secWindow)
	n1, elapsed, cpu := calls.Load(), time.Since(t0), cpuTime()-cpu0
	stop.Store(true)
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
	n := n1 - n0
	if n <= 0 {
		b.Fatalf("no call completed in %v", elapsed)
	}
	return window{rate: float64(n) / elapsed.Seconds(), cpu: cpu / time.Duration(n)}
}

// BenchmarkSecurity measures calls/s and CPU per call of each system at 1 and 64
// callers, interleaved in rounds, then prints the share TLS (and sealing) costs each.
// It ignores b.N: run it with -benchtime 1x.
func BenchmarkSecurity(b *testing.B) {
	systems := []contender{
		{secJesus, jesusTCP(true)},
		{secJesusTLS, startJesusSecure(false)},
		{secGRPC, startGRPC},
		{secGRPCTLS, startGRPCTLS},
		{secJesusSeal, startJesusSecure(true)},
	}
	calls := make([]func(ctx context.Context) error, len(systems))
	for i, sys := range systems {
		s := sys.start(b)
		o := orderOfSize("small")
		calls[i] = func(ctx context.Context) error { return s.call(ctx, o) }
	}
	b.ResetTimer()
	runs := map[string][]window{} // by "c<callers>|system"
	for _, conc := range []int{1, 64} {
		for round := 0; round < secRounds; round++ {
			for k := range systems {
				i := (k + round) % len(systems) // a turning order
				w := measureWindow(b, conc, calls[i])
				key := fmt.Sprintf("c%d|%s", conc, systems[i].name)
				runs[key] = append(runs[key], w)
			}
		}
	}
	b.StopTimer()
	printSecurity(runs)
}

func medianOf[T int64 | float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// costs returns the medians of off and on (rate, cpu per call) and, over the rounds, the
// share the addition costs: of calls/s (1 - on/off) and of CPU per call (1 - off/on),
// each as its median with the quartiles around it.
func costs(off, on []window) (offW, onW window, rateCost, cpuCost [3]float64) {
	var offR, onR, rc, cc []float64
	var offC, onC []time.Duration
	for i := range min(len(off), len(on)) {
		offR, onR = append(offR, off[i].rate), append(onR, on[i].rate)
		offC, onC = append(offC, off[i].cpu), append(onC, on[i].cpu)
		rc = append(rc, 1-on[i].rate/off[i].rate)
		cc = append(cc, 1-float64(off[i].cpu)/float64(on[i].cpu))
	}
	return window{medianOf(offR), medianOf(offC)}, window{medianOf(onR), medianOf(onC)}, quartiles(rc), quartiles(cc)
}

// quartiles returns the lower quartile, the median and the upper quartile of xs.
func quartiles(xs []float64) [3]float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return [3]float64{s[len(s)/4], medianOf(s), s[(3*len(s))/4]}
}

func printSecurity(runs map[string][]window) {
	w := os.Stdout
	fmt.Fprintf(w, "\nwhat security costs: one process, %d interleaved rounds of %v windows per system; medians\n", secRounds, secWindow)
	fmt.Fprintln(w, "(rate cost: 1 - calls/s with ÷ without; cpu cost: 1 - CPU per call without ÷ with; each the median of the per-round costs, [quartiles])")
	format := "%-7s %-28s %14s %9s   %14s %9s   %-22s %-22s\n"
	fmt.Fprintf(w, format, "callers", "system (with ÷ without)", "without", "cpu/call", "with", "cpu/call", "rate cost", "cpu cost")
	pairs := [][2]string{{secJesus, secJesusTLS}, {secGRPC, secGRPCTLS}, {secJesusTLS, secJesusSeal}}
	for _, conc := range []int{1, 64} {
		for _, p := range pairs {
			offs, ons := runs[fmt.Sprintf("c%d|%s", conc, p[0])], runs[fmt.Sprintf("c%d|%s", conc, p[1])]
			if len(offs) == 0 || len(ons) == 0 {
				continue
			}
			off, on, rc, cc := costs(offs, ons)
			fmt.Fprintf(w, format, fmt.Sprintf("c%d", conc), p[1],
				fmt.Sprintf("%.1fk calls/s", off.rate/1e3), off.cpu.Round(100*time.Nanosecond),
				fmt.Sprintf("%.1fk calls/s", on.rate/1e3), on.cpu.Round(100*time.Nanosecond),
				pct(rc), pct(cc))
		}
	}
}

func pct(q [3]float64) string {
	return fmt.Sprintf("%.1f%% [%.1f, %.1f]", 100*q[1], 100*q[0], 100*q[2])
}
