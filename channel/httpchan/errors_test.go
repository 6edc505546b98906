package httpchan_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
)

// TestBadResponsePassedOn: a service that got bad_response from a call it made passes it
// on as 502 with the code; the caller gets bad_response back, over plain HTTP and over the
// jesus client. A 502 without the code (a proxy) stays unavailable.
func TestBadResponsePassedOn(t *testing.T) {
	channeltest.CheckLeaks(t)
	ln := serve(t, channel.Config{}, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		w.Send(ctx, &channel.Envelope{Type: channel.TypeError, ErrCode: "bad_response", ErrMessage: "orders.get: reply fails /id",
			ErrDetails: []byte(`{"failures":[{"pointer":"/id"}]}`)})
	}))

	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post("http://"+ln.Addr()+"/gateway.get", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || resp.Header.Get("Jesus-Error-Code") != "bad_response" || !strings.Contains(string(body), `"code":"bad_response"`) {
		t.Fatalf("plain HTTP got %d %q %s", resp.StatusCode, resp.Header.Get("Jesus-Error-Code"), body)
	}

	c := dial(t, ln.Addr(), channel.Config{})
	r := call(t, c, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "gateway.get", Codec: "json", Data: []byte(`{}`)})
	if r.Type != channel.TypeError || r.ErrCode != "bad_response" || r.ErrMessage != "orders.get: reply fails /id" || string(r.ErrDetails) != `{"failures":[{"pointer":"/id"}]}` {
		t.Fatalf("jesus client got %s %q %q %s", r.Type, r.ErrCode, r.ErrMessage, r.ErrDetails)
	}

	// Proxies: only a 502 that names the code is bad_response.
	for _, p := range []struct {
		name, header, body, code string
	}{
		{"proxy 502", "", "<html>bad gateway</html>", "unavailable"},
		{"header only", "bad_response", "upstream reply broke its schema", "bad_response"},
		{"json body", "", `{"code":"bad_response","message":"m"}`, "bad_response"},
	} {
		t.Run(p.name, func(t *testing.T) {
			addr := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
				if p.header != "" {
					w.Header().Set("Jesus-Error-Code", p.header)
				}
				w.WriteHeader(http.StatusBadGateway)
				io.WriteString(w, p.body)
			})
			r := call(t, dial(t, addr, channel.Config{}), &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "m"})
			if r.Type != channel.TypeError || r.ErrCode != p.code {
				t.Fatalf("got %s %q (%s), want code %q", r.Type, r.ErrCode, r.ErrMessage, p.code)
			}
		})
	}
}
