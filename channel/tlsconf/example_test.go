package tlsconf_test

import (
	"context"
	"fmt"
	"os"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/framed"
	"github.com/jesus-go/jesus/channel/tlsconf"
	"github.com/jesus-go/jesus/channel/tlsconf/tlstest"
)

// A service with mutual TLS: one Source from its CA bundle, certificate and key serves
// as listener and as dialer; the handler sees the caller's certificate.
func Example() {
	dir, _ := os.MkdirTemp("", "tlsconf")
	defer os.RemoveAll(dir)
	ca := tlstest.NewCA("example ca")
	p, _ := ca.WriteFiles(dir, tlstest.Localhost("orders", "example.org"))

	src, err := tlsconf.Load(tlsconf.Files{CA: p.CA, Cert: p.Cert, Key: p.Key})
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := channel.Config{TLS: src.Config()}
	ctx := context.Background()
	ln, _ := framed.TCP().Listen(ctx, "127.0.0.1:0", cfg)
	defer ln.Close()
	go ln.Serve(channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		who := channel.PeerTLS(ctx).PeerCertificates[0].URIs[0].String()
		w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Data: []byte(who)})
	}))

	cn, _ := framed.TCP().Dial(ctx, ln.Addr(), cfg)
	defer cn.Close()
	ex, err := cn.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "orders.who"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ex.Close()
	r, _ := ex.Recv(ctx)
	fmt.Println(string(r.Data))
	// Output: spiffe://example.org/orders
}
