package httpchan_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/httpchan"
)

// A server answers a call from a jesus client and from a plain HTTP client alike.
func Example() {
	ctx := context.Background()
	tr := httpchan.New()
	ln, err := tr.Listen(ctx, "127.0.0.1:0", channel.Config{})
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	go ln.Serve(channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		if req.Method != "greeter.hello" {
			w.Send(ctx, &channel.Envelope{Type: channel.TypeError, ErrCode: "not_found", ErrMessage: "no method " + req.Method})
			return
		}
		w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Codec: "json", Data: []byte(`{"greeting":"hello, ` + strings.Trim(string(req.Data), `"`) + `"}`)})
	}))

	c, err := tr.Dial(ctx, ln.Addr(), channel.Config{})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	x, err := c.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "greeter.hello", Codec: "json", Data: []byte(`"jesus"`)})
	if err != nil {
		panic(err)
	}
	r, err := x.Recv(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Type, r.Codec, string(r.Data))
	x.Close()

	// The same call as curl makes it:
	//   curl -H 'Content-Type: application/json' -d '"curl"' http://127.0.0.1:PORT/greeter.hello
	resp, err := http.Post("http://"+ln.Addr()+"/greeter.hello", "application/json", strings.NewReader(`"curl"`))
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))

	resp, err = http.Post("http://"+ln.Addr()+"/greeter.bye", "application/json", nil)
	if err != nil {
		panic(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.StatusCode, " ", string(body))
	// Output:
	// response json {"greeting":"hello, jesus"}
	// 200 {"greeting":"hello, curl"}
	// 404 {"code":"not_found","message":"no method greeter.bye"}
}
