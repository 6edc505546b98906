package jesus_test

// The peers of the comparison in compare_test.go: grpc-go with a JSON codec, NATS
// (an embedded nats-server and nats.go), a plain net/http server with encoding/json, and
// a raw length-prefixed TCP echo. None validates; each decodes what it receives with
// encoding/json, except the echo, which returns the bytes it read.

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/jesus-go/jesus/channel/channeltest"
)

// jsonCodec is gRPC's codec for this comparison: encoding/json, registered per call.
type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
func (jsonCodec) Name() string                       { return "json" }

var grpcDesc = grpc.ServiceDesc{
	ServiceName: "bench.Shop",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Create",
		Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var o ShopOrder
			if err := dec(&o); err != nil {
				return nil, err
			}
			r := receiptFor(&o)
			return &r, nil
		},
	}},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Lines",
		ServerStreams: true,
		Handler: func(_ any, st grpc.ServerStream) error {
			var r OrderRef
			if err := st.RecvMsg(&r); err != nil {
				return err
			}
			for i := 0; i < streamItems; i++ {
				l := streamLine(i)
				if err := st.SendMsg(&l); err != nil {
					return err
				}
			}
			return nil
		},
	}},
}

func listenLoopback(b *testing.B) net.Listener {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return ln
}

func startGRPC(b *testing.B) system {
	b.Helper()
	ln := listenLoopback(b)
	srv := grpc.NewServer(grpc.ForceServerCodec(jsonCodec{}))
	srv.RegisterService(&grpcDesc, struct{}{})
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(ln) }()
	cc, err := grpc.NewClient(ln.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(jsonCodec{})))
	if err != nil {
		srv.Stop()
		b.Fatal(err)
	}
	b.Cleanup(func() { cc.Close(); srv.Stop(); <-served })
	return system{
		call: func(ctx context.Context, o *ShopOrder) error {
			var r ShopReceipt
			return cc.Invoke(ctx, "/bench.Shop/Create", o, &r)
		},
		stream: func(ctx context.Context) (int, error) {
			st, err := cc.NewStream(ctx, &grpcDesc.Streams[0], "/bench.Shop/Lines")
			if err != nil {
				return 0, err
			}
			if err := st.SendMsg(orderRef); err != nil {
				return 0, err
			}
			if err := st.CloseSend(); err != nil {
				return 0, err
			}
			n := 0
			for {
				var l ShopLine
				if err := st.RecvMsg(&l); err == io.EOF {
					return n, nil
				} else if err != nil {
					return n, err
				}
				n++
			}
		},
	}
}

// startNATS runs an embedded nats-server on a free loopback port and serves shop.create
// (request-reply) and shop.place (publish) from a queue group of 2×GOMAXPROCS
// subscriptions, so that the receiving side decodes in parallel as jesus's server does.
func startNATS(b *testing.B) system {
	b.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{
		Host:                  "127.0.0.1",
		Port:                  -1,
		NoLog:                 true,
		NoSigs:                true,
		DisableShortFirstPing: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	go ns.Start()
	b.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		b.Fatal("nats-server did not start within 10s")
	}
	srvConn, err := nats.Connect(ns.ClientURL(), nats.Name("shop"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srvConn.Close)
	arr := newArrivals()
	for i := 0; i < 2*runtime.GOMAXPROCS(0); i++ {
		if _, err := srvConn.QueueSubscribe("shop.create", "shop", func(m *nats.Msg) {
			var o ShopOrder
			if err := json.Unmarshal(m.Data, &o); err != nil {
				return // the caller times out; a benchmark sends only valid orders
			}
			r, _ := json.Marshal(receiptFor(&o))
			m.Respond(r)
		}); err != nil {
			b.Fatal(err)
		}
		if _, err := srvConn.QueueSubscribe("shop.place", "shop", func(m *nats.Msg) {
			var o ShopOrder
			if json.Unmarshal(m.Data, &o) == nil {
				arr.add()
			}
		}); err != nil {
			b.Fatal(err)
		}
	}
	if err := srvConn.Flush(); err != nil {
		b.Fatal(err)
	}
	nc, err := nats.Connect(ns.ClientURL(), nats.Name("bench"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	return system{
		call: func(ctx context.Context, o *ShopOrder) error {
			data, err := json.Marshal(o)
			if err != nil {
				return err
			}
			m, err := nc.RequestWithContext(ctx, "shop.create", data)
			if err != nil {
				return err
			}
			var r ShopReceipt
			return json.Unmarshal(m.Data, &r)
		},
		send: func(ctx context.Context, o *ShopOrder) error {
			data, err := json.Marshal(o)
			if err != nil {
				return err
			}
			return nc.Publish("shop.place", data)
		},
		flush:   nc.Flush,
		arrived: arr,
	}
}

// startNetHTTP serves POST /orders with net/http and encoding/json; its client keeps as
// many idle connections per host as jesus's http transport does.
func startNetHTTP(b *testing.B) system {
	b.Helper()
	ln := listenLoopback(b)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, r *http.Request) {
		var o ShopOrder
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&o); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(receiptFor(&o))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(ln) }()
	tr := &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	hc := &http.Client{Transport: tr}
	b.Cleanup(func() { tr.CloseIdleConnections(); srv.Close(); <-served })
	url := "http://" + ln.Addr().String() + "/orders"
	return system{
		call: func(ctx context.Context, o *ShopOrder) error {
			data, err := json.Marshal(o)
			if err != nil {
				return err
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("net/http: status %s", resp.Status)
			}
			var r ShopReceipt
			err = json.NewDecoder(resp.Body).Decode(&r)
			io.Copy(io.Discard, resp.Body) // so that the connection is reused
			return err
		},
	}
}

// startTCPEcho serves a raw TCP echo: a message is a big-endian u32 length and that many
// bytes, returned as they came, by one goroutine per connection. A call sends the JSON of
// the order, encoded once up front, and reads the echo: the floor of a request/response
// over loopback.
func startTCPEcho(b *testing.B) system {
	b.Helper()
	ln := listenLoopback(b)
	stop := channeltest.ServeEchoes(ln)
	encoded := map[*ShopOrder][]byte{}
	for _, o := range []*ShopOrder{smallOrder, largeOrder} {
		data, err := json.Marshal(o)
		if err != nil {
			b.Fatal(err)
		}
		encoded[o] = binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		encoded[o] = append(encoded[o], data...)
	}
	idle := make(chan *channeltest.EchoConn, 256) // connections not in use by a caller
	b.Cleanup(func() {
		for len(idle) > 0 {
			(<-idle).C.Close()
		}
		stop()
	})
	return system{
		call: func(ctx context.Context, o *ShopOrder) error {
			msg, ok := encoded[o]
			if !ok {
				return errors.New("echo: no encoding of this order")
			}
			var ec *channeltest.EchoConn
			select {
			case ec = <-idle:
			default:
				c, err := (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
				if err != nil {
					return err
				}
				if d, ok := ctx.Deadline(); ok {
					c.SetDeadline(d)
				}
				ec = &channeltest.EchoConn{C: c}
			}
			if err := ec.RoundTrip(msg); err != nil {
				ec.C.Close()
				return err
			}
			select {
			case idle <- ec:
			default:
				ec.C.Close()
			}
			return nil
		},
	}
}

// echo answers every message on c with its own bytes until c fails or sends a bad length.
