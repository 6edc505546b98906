package hub_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/jesus-go/jesus/gateway/hub"
	"github.com/jesus-go/jesus/jesus"
)

// A Go service serves through a hub without opening a port; a caller reaches it with
// one HTTP POST to the hub (with a registry, jesus clients reach it as any service).
func Example() {
	ctx := context.Background()
	h, _ := hub.New(hub.Config{})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go h.Serve(ln)
	defer h.Close()

	hw := &hub.Worker{Service: "greeter"}
	srv := jesus.NewServer("greeter")
	jesus.Handle(srv, "hello", func(ctx context.Context, name string) (string, error) {
		return "hello, " + name, nil
	})
	srv.ListenVia(ctx, hw, "json", ln.Addr().String())
	defer srv.Close()

	// The worker's first poll (a real caller just calls).
	for start := time.Now(); h.Stats().Waiting == 0; runtime.Gosched() {
		if time.Since(start) > 10*time.Second {
			panic("the worker never polled the hub")
		}
	}
	resp, err := http.Post("http://"+ln.Addr().String()+"/service/greeter.hello", "application/json", strings.NewReader(`"ada"`))
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// 200 "hello, ada"
}
