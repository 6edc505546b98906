package jesus_test

// The comparison with grpc-go: the same order-like payloads, the same handlers, in the same
// run. Run it with:
//
//	go test ./jesus -run '^$' -bench Compare -benchtime 2s
//
// Each benchmark reports calls/s, p50 and p99 latency; after the run a table with the
// ratio jesus/grpc per scenario is printed. gRPC uses a JSON codec (no protoc).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/jesus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

const streamItems = 1000

// jsonCodec is gRPC's codec for this comparison: encoding/json, registered per call.
type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
func (jsonCodec) Name() string                       { return "json" }

var grpcDesc = grpc.ServiceDesc{
	ServiceName: "bench.Orders",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Create",
		Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var o Order
			if err := dec(&o); err != nil {
				return nil, err
			}
			return &Receipt{OrderID: o.ID, Status: "created"}, nil
		},
	}},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Lines",
		ServerStreams: true,
		Handler: func(_ any, st grpc.ServerStream) error {
			var o Order
			if err := st.RecvMsg(&o); err != nil {
				return err
			}
			l := Line{SKU: "sku-1", Qty: 1, Price: 9.99}
			for i := 0; i < streamItems; i++ {
				l.Qty = i
				if err := st.SendMsg(&l); err != nil {
					return err
				}
			}
			return nil
		},
	}},
}

// benchService registers the same two methods on a jesus server.
func benchService(s *jesus.Server) {
	jesus.Handle(s, "create", func(ctx context.Context, o Order) (Receipt, error) {
		return Receipt{OrderID: o.ID, Status: "created"}, nil
	})
	jesus.HandleStream(s, "lines", func(ctx context.Context, o Order, send func(Line) error) error {
		l := Line{SKU: "sku-1", Qty: 1, Price: 9.99}
		for i := 0; i < streamItems; i++ {
			l.Qty = i
			if err := send(l); err != nil {
				return err
			}
		}
		return nil
	})
}

// system is one side of the comparison: a unary call and a full stream read.
type system struct {
	unary  func(ctx context.Context, o *Order) error
	stream func(ctx context.Context, o *Order) (int, error)
	close  func()
}

func startGRPC(b *testing.B) system {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodec(jsonCodec{}))
	srv.RegisterService(&grpcDesc, struct{}{})
	go srv.Serve(ln)
	cc, err := grpc.NewClient(ln.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(jsonCodec{})))
	if err != nil {
		b.Fatal(err)
	}
	return system{
		unary: func(ctx context.Context, o *Order) error {
			var r Receipt
			return cc.Invoke(ctx, "/bench.Orders/Create", o, &r)
		},
		stream: func(ctx context.Context, o *Order) (int, error) {
			st, err := cc.NewStream(ctx, &grpcDesc.Streams[0], "/bench.Orders/Lines")
			if err != nil {
				return 0, err
			}
			if err := st.SendMsg(o); err != nil {
				return 0, err
			}
			if err := st.CloseSend(); err != nil {
				return 0, err
			}
			n := 0
			for {
				var l Line
				if err := st.RecvMsg(&l); err == io.EOF {
					return n, nil
				} else if err != nil {
					return n, err
				}
				n++
			}
		},
		close: func() { cc.Close(); srv.Stop() },
	}
}

func startJesus(b *testing.B, spec string, opts ...jesus.Option) system {
	b.Helper()
	s := jesus.NewServer("orders", opts...)
	benchService(s)
	bound, err := s.Listen(context.Background(), spec)
	if err != nil {
		b.Fatal(err)
	}
	c := jesus.NewClient("bench", append([]jesus.Option{jesus.WithTarget(bound.String())}, opts...)...)
	return system{
		unary: func(ctx context.Context, o *Order) error {
			_, err := jesus.Call[*Order, Receipt](ctx, c, "orders.create", o)
			return err
		},
		stream: func(ctx context.Context, o *Order) (int, error) {
			n := 0
			for _, err := range jesus.Stream[*Order, Line](ctx, c, "orders.lines", o) {
				if err != nil {
					return n, err
				}
				n++
			}
			return n, nil
		},
		close: func() { c.Close(); s.Close() },
	}
}

// result is one benchmark's figures, kept for the table printed after the run.
type result struct {
	callsPerSec float64
	p50, p99    time.Duration
}

var (
	resultsMu sync.Mutex
	results   = map[string]map[string]result{} // scenario -> system -> result
)

func record(scenario, sys string, r result) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	if results[scenario] == nil {
		results[scenario] = map[string]result{}
	}
	results[scenario][sys] = r
}

// runLoad performs b.N operations with conc goroutines and reports calls/s, p50 and p99.
func runLoad(b *testing.B, scenario, sys string, conc int, op func(ctx context.Context) error) {
	b.ReportAllocs()
	ctx := context.Background()
	// warm up connections outside the timer
	for i := 0; i < conc; i++ {
		if err := op(ctx); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	b.ResetTimer()
	start := time.Now()
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				if err := op(ctx); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
	slices.Sort(lat)
	r := result{
		callsPerSec: float64(b.N) / elapsed.Seconds(),
		p50:         lat[len(lat)/2],
		p99:         lat[len(lat)*99/100],
	}
	b.ReportMetric(r.callsPerSec, "calls/s")
	b.ReportMetric(float64(r.p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(r.p99.Microseconds()), "p99-µs")
	record(scenario, sys, r)
}

func BenchmarkCompare(b *testing.B) {
	small, large := sampleOrder("o-small", 2), sampleOrder("o-large", 60)
	sizes := map[string]*Order{"small": &small, "large": &large}
	systems := []struct {
		name  string
		start func(b *testing.B) system
	}{
		{"grpc", startGRPC},
		{"jesus-tcp+msgpack", func(b *testing.B) system { return startJesus(b, "tcp+msgpack://127.0.0.1:0") }},
		{"jesus-tcp+json", func(b *testing.B) system { return startJesus(b, "tcp+json://127.0.0.1:0") }},
	}
	for _, size := range []string{"small", "large"} {
		for _, conc := range []int{1, 64} {
			scenario := fmt.Sprintf("unary/%s/c%d", size, conc)
			for _, sys := range systems {
				b.Run(scenario+"/"+sys.name, func(b *testing.B) {
					s := sys.start(b)
					defer s.close()
					o := sizes[size]
					runLoad(b, scenario, sys.name, conc, func(ctx context.Context) error { return s.unary(ctx, o) })
				})
			}
		}
	}
	scenario := fmt.Sprintf("stream%d/small/c1", streamItems)
	for _, sys := range systems {
		b.Run(scenario+"/"+sys.name, func(b *testing.B) {
			s := sys.start(b)
			defer s.close()
			runLoad(b, scenario, sys.name, 1, func(ctx context.Context) error {
				n, err := s.stream(ctx, &small)
				if err == nil && n != streamItems {
					err = fmt.Errorf("stream yielded %d items", n)
				}
				return err
			})
		})
	}
}

// printComparison writes the table of ratios jesus/grpc after a run that had benchmarks.
func printComparison(w io.Writer) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	if len(results) == 0 {
		return
	}
	scenarios := make([]string, 0, len(results))
	for s := range results {
		scenarios = append(scenarios, s)
	}
	sort.Strings(scenarios)
	fmt.Fprintln(w, "\njesus vs grpc-go, and validation on vs off (same machine, same run; ratio = calls/s ÷ calls/s of grpc, or of validation off)")
	fmt.Fprintf(w, "%-22s %-20s %12s %10s %10s %8s\n", "scenario", "system", "calls/s", "p50", "p99", "ratio")
	for _, sc := range scenarios {
		g, hasG := results[sc]["grpc"]
		base := "grpc"
		if !hasG {
			g, hasG = results[sc]["off"]
			base = "off"
		}
		names := make([]string, 0)
		for n := range results[sc] {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			r := results[sc][n]
			ratio := "-"
			if hasG && n != base {
				ratio = fmt.Sprintf("%.2fx", r.callsPerSec/g.callsPerSec)
			}
			fmt.Fprintf(w, "%-22s %-20s %12.0f %10s %10s %8s\n", sc, n, r.callsPerSec, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), ratio)
		}
	}
	fmt.Fprintln(w, strings.Repeat("-", 86))
}

func TestMain(m *testing.M) {
	code := m.Run()
	printComparison(os.Stdout)
	os.Exit(code)
}

// Schema-shaped order for the validation benchmark (orders.create in schemas/).
type Money struct {
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}

type Customer struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
}

type DocLine struct {
	SKU       string `json:"sku"`
	Title     string `json:"title,omitempty"`
	Quantity  int    `json:"quantity"`
	UnitPrice Money  `json:"unitPrice"`
}

type OrderDoc struct {
	ID       string    `json:"id,omitempty"`
	Customer Customer  `json:"customer"`
	Currency string    `json:"currency"`
	Lines    []DocLine `json:"lines"`
	Note     string    `json:"note,omitempty"`
}

type OrderRef struct {
	ID string `json:"id"`
}

func docOrder(lines int) *OrderDoc {
	o := &OrderDoc{ID: "o-1", Customer: Customer{ID: "c-1", Email: "ada@example.com", Name: "Ada"}, Currency: "EUR"}
	for i := 0; i < lines; i++ {
		o.Lines = append(o.Lines, DocLine{SKU: "ABC-1234", Title: "Widget", Quantity: i + 1, UnitPrice: Money{Amount: 9.99, Currency: "EUR"}})
	}
	return o
}

// BenchmarkValidation compares end-to-end throughput over tcp+msgpack with validation off
// and on at both ends (client request, server request and response), 64 callers.
func BenchmarkValidation(b *testing.B) {
	set := loadSchemas(b)
	d := set.Service("orders")
	for _, size := range []struct {
		name  string
		lines int
	}{{"small", 2}, {"large", 60}} {
		scenario := "validation/" + size.name + "/c64"
		o := docOrder(size.lines)
		for _, on := range []bool{false, true} {
			name := "off"
			var srvOpts, cliOpts []jesus.Option
			if on {
				name = "on-both-ends"
				srvOpts = append(srvOpts, jesus.WithValidation(jesus.ServiceSchemas(set, d.Service, d.Version)))
				cliOpts = append(cliOpts, jesus.WithValidation(jesus.ReceiverSchemas(set)))
			}
			b.Run(scenario+"/"+name, func(b *testing.B) {
				s := jesus.NewServer("orders", srvOpts...)
				jesus.Handle(s, "create", func(ctx context.Context, o OrderDoc) (OrderRef, error) {
					return OrderRef{ID: o.ID}, nil
				})
				bound, err := s.Listen(context.Background(), "tcp+msgpack://127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				c := jesus.NewClient("bench", append([]jesus.Option{jesus.WithTarget(bound.String())}, cliOpts...)...)
				defer c.Close()
				runLoad(b, scenario, name, 64, func(ctx context.Context) error {
					_, err := jesus.Call[*OrderDoc, OrderRef](ctx, c, "orders.create", o)
					return err
				})
			})
		}
	}
}
