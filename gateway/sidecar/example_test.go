package sidecar_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jesus-go/jesus/schema/registry/embedded"

	"github.com/jesus-go/jesus/gateway/sidecar"
	"github.com/jesus-go/jesus/schema/registry"
)

// An app that is only an HTTP handler (here in Go; any language does) is registered with
// the sidecar, which serves its method on the descriptor's channel; a call through the
// sidecar's API reaches it after validation.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// etcd in a temporary directory, a registry on it and the registry's watch-fed cache.
	local, err := embedded.StartLocal(ctx, embedded.Config{}, registry.Config{})
	if err != nil {
		panic(err)
	}
	defer local.Close()
	reg, cache := local.Registry, local.Cache

	// The app: POST /hello answers a greeting.
	appLn, _ := net.Listen("tcp", "127.0.0.1:0")
	app := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		name := strings.TrimSuffix(strings.TrimPrefix(string(b), `{"name":"`), `"}`)
		fmt.Fprintf(w, `{"greeting":"hello %s"}`, name)
	})}
	go app.Serve(appLn)
	defer app.Close()

	// The sidecar, serving its API on loopback.
	sc, err := sidecar.New(sidecar.Config{Registry: reg, Cache: cache})
	if err != nil {
		panic(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go sc.Serve(ln)
	defer sc.Close()
	_, err = sc.RegisterApp(ctx, sidecar.AppConfig{
		URL: "http://" + appLn.Addr().String(),
		Descriptor: []byte(`{"service": "greeter", "version": "1.0.0", "channels": {"rpc": "http+json"},
		  "methods": {"hello": {"mode": "response", "channel": "rpc",
		    "request": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1}}},
		    "response": {"type": "object", "required": ["greeting"]}}}}`),
	})
	if err != nil {
		panic(err)
	}
	changes, stop := cache.Subscribe()
	defer stop()
	for len(cache.Instances("greeter")) == 0 {
		select {
		case <-changes: // the cache follows etcd's watch
		case <-ctx.Done():
			panic("the app's registration never reached the cache")
		}
	}

	api := "http://" + ln.Addr().String()
	for _, body := range []string{`{"name":"Ada"}`, `{"name":""}`} {
		resp, err := http.Post(api+"/v1/call/greeter.hello", "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Print(resp.StatusCode, " ", string(b))
	}
	// Output:
	// 200 {"greeting":"hello Ada"}
	// 400 {"code":"invalid_argument","message":"request fails the schema of greeter@1.0.0 (greeter.hello): /name: length must be >= 1, but got 0","details":{"service":"greeter@1.0.0","method":"greeter.hello","failures":[{"pointer":"/name","keyword":"minLength","message":"length must be >= 1, but got 0"}]}}
}
