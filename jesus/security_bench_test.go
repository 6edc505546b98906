package jesus_test

// What TLS and sealing cost: jesus over tcp+msgpack plaintext, with mutual TLS 1.3, and
// with mutual TLS plus sealed payloads, next to grpc-go plaintext and with mutual TLS 1.3,
// all in the same run. The share TLS takes of each system's calls/s is what is compared.
//
//	go test -run XXX -bench BenchmarkSecurity -benchtime 2s ./jesus/

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
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

// startJesusSecure serves shop.create, validated at both ends, on tcp+msgpack with mutual TLS.
func startJesusSecure(b *testing.B) system {
	b.Helper()
	set := compareSchemas(b)
	s := jesus.NewServer("shop", jesus.WithValidation(jesus.ServiceSchemas(set, "shop", "1.0.0")), jesus.WithChannelConfig(jesusTLS(b, "shop")))
	jesus.Handle(s, "create", func(ctx context.Context, o ShopOrder) (ShopReceipt, error) {
		return receiptFor(&o), nil
	})
	bound, err := s.Listen(context.Background(), "tcp+msgpack://127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	c := jesus.NewClient("bench", jesus.WithTarget(bound.String()), jesus.WithValidation(jesus.ReceiverSchemas(set)), jesus.WithChannelConfig(jesusTLS(b, "bench")))
	b.Cleanup(func() { c.Close(); s.Close() })
	return system{call: func(ctx context.Context, o *ShopOrder) error {
		_, err := jesus.Call[*ShopOrder, ShopReceipt](ctx, c, "shop.create", o)
		return err
	}}
}

// startJesusBytes serves the order as JSON bytes over tcp+msgpack with mutual TLS; with
// sealed, the caller seals each request to the server's key and the handler opens it
// (method and caller as associated data), and the receipt comes back in the clear.
func startJesusBytes(sealed bool) func(b *testing.B) system {
	return func(b *testing.B) system {
		b.Helper()
		priv, _ := seal.GenerateKey()
		opener, _ := seal.NewOpener(priv)
		sealer, _ := seal.NewSealer(opener.PublicKey())
		aad := []byte("shop.create\x00bench")
		s := jesus.NewServer("shop", jesus.WithChannelConfig(jesusTLS(b, "shop")))
		jesus.Handle(s, "create", func(ctx context.Context, req []byte) ([]byte, error) {
			if sealed {
				var err error
				if req, err = opener.Open(nil, req, aad); err != nil {
					return nil, jesus.NewError(jesus.CodeUnauthenticated, err.Error())
				}
			}
			var o ShopOrder
			if err := json.Unmarshal(req, &o); err != nil {
				return nil, err
			}
			r := receiptFor(&o)
			return json.Marshal(&r)
		})
		bound, err := s.Listen(context.Background(), "tcp+msgpack://127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		c := jesus.NewClient("bench", jesus.WithTarget(bound.String()), jesus.WithChannelConfig(jesusTLS(b, "bench")))
		b.Cleanup(func() { c.Close(); s.Close() })
		return system{call: func(ctx context.Context, o *ShopOrder) error {
			req, err := json.Marshal(o)
			if err != nil {
				return err
			}
			if sealed {
				if req, err = sealer.Seal(nil, req, aad); err != nil {
					return err
				}
			}
			res, err := jesus.Call[[]byte, []byte](ctx, c, "shop.create", req)
			if err != nil {
				return err
			}
			var r ShopReceipt
			return json.Unmarshal(res, &r)
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
	secBytesTLS   = "jesus bytes mTLS"
	secBytesSeal  = "jesus bytes mTLS+seal"
	secGRPC       = "grpc-json"
	secGRPCTLS    = "grpc-json mTLS"
	secScenarioFS = "sec/call/small/c%d"
)

// BenchmarkSecurity measures calls/s and p50 of each system at 1 and 64 callers, then
// prints what TLS and sealing cost each of them.
func BenchmarkSecurity(b *testing.B) {
	systems := []contender{
		{secJesus, jesusTCP(true)},
		{secJesusTLS, startJesusSecure},
		{secBytesTLS, startJesusBytes(false)},
		{secBytesSeal, startJesusBytes(true)},
		{secGRPC, startGRPC},
		{secGRPCTLS, startGRPCTLS},
	}
	for _, conc := range []int{1, 64} {
		scenario := fmt.Sprintf(secScenarioFS, conc)
		for _, sys := range systems {
			b.Run(fmt.Sprintf("c%d/%s", conc, sys.name), func(b *testing.B) {
				s := sys.start(b)
				o := orderOfSize("small")
				runLoad(b, scenario, sys.name, "calls", 1, conc, func(ctx context.Context) error { return s.call(ctx, o) })
			})
		}
	}
	printSecurity(b)
}

func printSecurity(b *testing.B) {
	w := os.Stdout
	fmt.Fprintln(w, "\nwhat security costs, same process, same run")
	fmt.Fprintln(w, "(rate cost: 1 - calls/s with ÷ without; cpu cost: 1 - CPU per call without ÷ with, steadier on a busy machine)")
	format := "%-7s %-24s %14s %9s %8s   %14s %9s %8s   %9s %8s\n"
	fmt.Fprintf(w, format, "callers", "system", "without", "p50", "cpu/call", "with", "p50", "cpu/call", "rate cost", "cpu cost")
	pairs := [][2]string{{secJesus, secJesusTLS}, {secGRPC, secGRPCTLS}, {secBytesTLS, secBytesSeal}}
	for _, conc := range []int{1, 64} {
		scenario := fmt.Sprintf(secScenarioFS, conc)
		for _, p := range pairs {
			off, ok1 := lookup(scenario, p[0])
			on, ok2 := lookup(scenario, p[1])
			if !ok1 || !ok2 {
				continue
			}
			fmt.Fprintf(w, format, fmt.Sprintf("c%d", conc), p[1],
				fmt.Sprintf("%.1fk calls/s", off.rate/1e3), off.p50.Round(time.Microsecond), off.cpu.Round(100*time.Nanosecond),
				fmt.Sprintf("%.1fk calls/s", on.rate/1e3), on.p50.Round(time.Microsecond), on.cpu.Round(100*time.Nanosecond),
				fmt.Sprintf("%.1f%%", 100*(1-on.rate/off.rate)), fmt.Sprintf("%.1f%%", 100*(1-float64(off.cpu)/float64(on.cpu))))
		}
	}
}
