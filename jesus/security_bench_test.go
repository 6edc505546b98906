package jesus_test

// What TLS and sealing cost: jesus over tcp+msgpack plaintext, with mutual TLS 1.3, and
// with mutual TLS plus sealed requests (+seal), next to grpc-go plaintext and with mutual TLS 1.3,
// all in the same run. The share TLS takes of each system's calls/s is what is compared.
//
//	go test -run XXX -bench BenchmarkSecurity ./jesus/

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"slices"
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
	secJesus      = "jesus-tcp+msgpack"
	secJesusTLS   = "jesus-tcp+msgpack mTLS"
	secJesusSeal  = "jesus-tcp+msgpack mTLS+seal"
	secGRPC       = "grpc-json"
	secGRPCTLS    = "grpc-json mTLS"
	secScenarioFS = "sec/call/small/c%d"
)

// secRounds is how many times each system runs; the table shows medians.
const secRounds = 5

// secRuns keeps every run of each system, so that the table shows
// medians: on a machine shared with other work one run's rate can be off by half.
var secRuns = map[string][]result{}

// median returns the run with the median rate and, separately, the median CPU per call.
func median(rs []result) (r result, runs int) {
	byRate := slices.Clone(rs)
	slices.SortFunc(byRate, func(a, b result) int { return cmp.Compare(a.rate, b.rate) })
	r = byRate[len(byRate)/2]
	cpus := make([]time.Duration, len(rs))
	for i, x := range rs {
		cpus[i] = x.cpu
	}
	slices.Sort(cpus)
	r.cpu = cpus[len(cpus)/2]
	return r, len(rs)
}

// BenchmarkSecurity measures calls/s and p50 of each system at 1 and 64 callers, then
// prints what TLS and sealing cost each of them.
func BenchmarkSecurity(b *testing.B) {
	systems := []contender{
		{secJesus, jesusTCP(true)},
		{secJesusTLS, startJesusSecure(false)},
		{secJesusSeal, startJesusSecure(true)},
		{secGRPC, startGRPC},
		{secGRPCTLS, startGRPCTLS},
	}
	// Rounds, each system once per round, rather than -count (which repeats one system
	// back to back): load from other work on the machine then falls on every system alike.
	for round := 0; round < secRounds; round++ {
		for _, conc := range []int{1, 64} {
			scenario := fmt.Sprintf(secScenarioFS, conc)
			for _, sys := range systems {
				b.Run(fmt.Sprintf("c%d/%s", conc, sys.name), func(b *testing.B) {
					s := sys.start(b)
					o := orderOfSize("small")
					runLoad(b, scenario, sys.name, "calls", 1, conc, func(ctx context.Context) error { return s.call(ctx, o) })
				})
				if r, ok := lookup(scenario, sys.name); ok { // the run with the final b.N
					secRuns[scenario+"|"+sys.name] = append(secRuns[scenario+"|"+sys.name], r)
				}
			}
		}
	}
	printSecurity(b)
}

func printSecurity(b *testing.B) {
	w := os.Stdout
	fmt.Fprintln(w, "\nwhat security costs, same process, same run; medians of each system's runs so far")
	fmt.Fprintln(w, "(rate cost: 1 - calls/s with ÷ without; cpu cost: 1 - CPU per call without ÷ with, steadier on a busy machine)")
	format := "%-7s %-28s %4s %14s %9s %8s   %14s %9s %8s   %9s %8s\n"
	fmt.Fprintf(w, format, "callers", "system (with ÷ without)", "runs", "without", "p50", "cpu/call", "with", "p50", "cpu/call", "rate cost", "cpu cost")
	pairs := [][2]string{{secJesus, secJesusTLS}, {secGRPC, secGRPCTLS}, {secJesusTLS, secJesusSeal}}
	for _, conc := range []int{1, 64} {
		scenario := fmt.Sprintf(secScenarioFS, conc)
		for _, p := range pairs {
			offs, ons := secRuns[scenario+"|"+p[0]], secRuns[scenario+"|"+p[1]]
			if len(offs) == 0 || len(ons) == 0 {
				continue
			}
			off, runs := median(offs)
			on, _ := median(ons)
			fmt.Fprintf(w, format, fmt.Sprintf("c%d", conc), p[1], fmt.Sprint(runs),
				fmt.Sprintf("%.1fk calls/s", off.rate/1e3), off.p50.Round(time.Microsecond), off.cpu.Round(100*time.Nanosecond),
				fmt.Sprintf("%.1fk calls/s", on.rate/1e3), on.p50.Round(time.Microsecond), on.cpu.Round(100*time.Nanosecond),
				fmt.Sprintf("%.1f%%", 100*(1-on.rate/off.rate)), fmt.Sprintf("%.1f%%", 100*(1-float64(off.cpu)/float64(on.cpu))))
		}
	}
}
