package auth_test

import (
	"context"
	"fmt"
	"os"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/tlsconf"
	"github.com/jesus-go/jesus/channel/tlsconf/tlstest"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/auth"
)

// A ledger lets only the orders service post; billing, verified by its certificate, is
// refused.
func Example() {
	dir, _ := os.MkdirTemp("", "auth")
	defer os.RemoveAll(dir)
	ca := tlstest.NewCA("mesh")
	mtls := func(service string) channel.Config {
		d, _ := os.MkdirTemp(dir, service)
		p, _ := ca.WriteFiles(d, tlstest.Localhost(service, "example.org"))
		src, _ := tlsconf.Load(tlsconf.Files{CA: p.CA, Cert: p.Cert, Key: p.Key})
		return channel.Config{TLS: src.Config()}
	}
	ctx := context.Background()
	s := jesus.NewServer("ledger", jesus.WithChannelConfig(mtls("ledger")), jesus.WithInterceptors(auth.Interceptor(auth.Config{
		TrustDomain: "example.org",
		Allow:       map[string][]string{"ledger.post": {"orders"}},
	})))
	jesus.Handle(s, "ledger.post", func(ctx context.Context, n int) (int, error) { return n, nil })
	bound, _ := s.Listen(ctx, "tcp+msgpack://127.0.0.1:0")
	defer s.Close()
	fmt.Println(bound.Name())

	for _, caller := range []string{"orders", "billing"} {
		c := jesus.NewClient(caller, jesus.WithChannelConfig(mtls(caller)), jesus.WithTarget(bound.String()))
		n, err := jesus.Call[int, int](ctx, c, "ledger.post", 5)
		code := jesus.Code("ok")
		if err != nil {
			code = jesus.CodeOf(err)
		}
		fmt.Println(caller, n, code)
		c.Close()
	}
	// Output:
	// tcp+tls+msgpack
	// orders 5 ok
	// billing 0 permission_denied
}
