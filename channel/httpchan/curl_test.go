package httpchan_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
)

// TestCurl calls a method the way curl does: plain net/http, a JSON body, no jesus headers.
func TestCurl(t *testing.T) {
	channeltest.CheckLeaks(t)
	seen := make(chan *channel.Envelope, 1)
	ln := serve(t, channel.Config{}, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		cp := *req
		seen <- &cp
		w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Codec: "json", Data: []byte(`{"id":42}`)})
	}))
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Post("http://"+ln.Addr()+"/orders.create", "application/json", strings.NewReader(`{"item":"book"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || string(body) != `{"id":42}` {
		t.Fatalf("got %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	req := <-seen
	if req.Method != "orders.create" || req.Mode != channel.ModeResponse || req.Codec != "json" || string(req.Data) != `{"item":"book"}` || req.Timeout != 0 {
		t.Fatalf("handler saw %+v", req)
	}
}

type errorJSON struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Details json.RawMessage `json:"details"`
}

// TestCurlErrors checks the status, Jesus-Error-Code and JSON body of every refusal.
func TestCurlErrors(t *testing.T) {
	channeltest.CheckLeaks(t)
	cfg := channel.Config{MaxMessage: 1024}
	ln := serve(t, cfg, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		if req.Method == "orders.get" {
			w.Send(ctx, &channel.Envelope{Type: channel.TypeError, ErrCode: "not_found", ErrMessage: "no order 7", ErrDetails: []byte(`{"pointer":"/id"}`)})
			return
		}
		respond(ctx, req, w)
	}))
	base := "http://" + ln.Addr()
	manyMeta := http.Header{}
	for i := 0; i <= channel.MaxExtra; i++ {
		manyMeta.Set(fmt.Sprintf("Jesus-Meta-K%d", i), "v")
	}
	cases := []struct {
		name     string
		method   string
		path     string
		header   http.Header
		body     io.Reader
		status   int
		code     string
		contains string
	}{
		{"get", "GET", "/orders.create", nil, nil, 405, "unimplemented", "GET"},
		{"no method", "POST", "/", nil, nil, 404, "not_found", "no method"},
		{"bad mode", "POST", "/a", http.Header{"Jesus-Mode": {"later"}}, nil, 400, "invalid_argument", "Jesus-Mode"},
		{"bad timeout", "POST", "/a", http.Header{"Jesus-Timeout": {"1.5s"}}, nil, 400, "invalid_argument", "Jesus-Timeout"},
		{"negative timeout", "POST", "/a", http.Header{"Jesus-Timeout": {"-1"}}, nil, 400, "invalid_argument", "Jesus-Timeout"},
		{"long timeout", "POST", "/a", http.Header{"Jesus-Timeout": {"99999999999999"}}, nil, 400, "invalid_argument", "Jesus-Timeout"},
		{"bad req-in", "POST", "/a", http.Header{"Jesus-Req-In": {"yesterday"}}, nil, 400, "invalid_argument", "Jesus-Req-In"},
		{"too many meta", "POST", "/a", manyMeta, nil, 400, "invalid_argument", "Jesus-Meta-"},
		{"form body", "POST", "/a", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, strings.NewReader("a=1"), 415, "invalid_argument", "Content-Type"},
		{"bad encoding", "POST", "/a", http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"br"}}, strings.NewReader("{}"), 415, "invalid_argument", "Content-Encoding"},
		{"too large", "POST", "/a", http.Header{"Content-Type": {"application/json"}}, strings.NewReader(strings.Repeat("x", 1025)), 413, "resource_exhausted", "1024"},
		{"too large chunked", "POST", "/a", http.Header{"Content-Type": {"application/json"}}, io.MultiReader(strings.NewReader(strings.Repeat("x", 2000))), 413, "resource_exhausted", "1024"},
		{"handler error", "POST", "/orders.get", nil, nil, 404, "not_found", "no order 7"},
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, base+c.path, c.body)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.header {
				req.Header[k] = v
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e errorJSON
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatalf("status %d: body is not JSON: %v", resp.StatusCode, err)
			}
			if resp.StatusCode != c.status || e.Code != c.code || resp.Header.Get("Jesus-Error-Code") != c.code || !strings.Contains(e.Message, c.contains) {
				t.Fatalf("got %d %q (header %q) %q, want %d %q containing %q", resp.StatusCode, e.Code, resp.Header.Get("Jesus-Error-Code"), e.Message, c.status, c.code, c.contains)
			}
			if !strings.HasPrefix(e.Message, "httpchan: ") && c.name != "handler error" {
				t.Errorf("message %q does not name the package", e.Message)
			}
			if c.status == 405 && resp.Header.Get("Allow") != "POST" {
				t.Errorf("405 without Allow: POST")
			}
			if c.name == "handler error" && string(e.Details) != `{"pointer":"/id"}` {
				t.Errorf("details %s", e.Details)
			}
		})
	}
}

// TestHugeContentLength: a declared length over the limit is refused before any body byte.
func TestHugeContentLength(t *testing.T) {
	channeltest.CheckLeaks(t)
	ln := serve(t, channel.Config{}, respond)
	nc, err := net.Dial("tcp", ln.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	fmt.Fprintf(nc, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", int64(1)<<40)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
}

// TestSlowloris: a client that never finishes its headers is cut off by ReadHeaderTimeout.
func TestSlowloris(t *testing.T) {
	channeltest.CheckLeaks(t)
	ln := serve(t, channel.Config{ReadHeaderTimeout: 100 * time.Millisecond}, respond)
	nc, err := net.Dial("tcp", ln.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	io.WriteString(nc, "POST /a HTTP/1.1\r\nHost: x\r\nJesus-Mode: resp")
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(nc); err != nil {
		t.Fatalf("connection was not closed by the server: %v", err)
	}
}

// TestEndlessBody: a chunked body that never ends is cut at MaxMessage.
func TestEndlessBody(t *testing.T) {
	channeltest.CheckLeaks(t)
	ln := serve(t, channel.Config{MaxMessage: 4096}, respond)
	pr, pw := io.Pipe()
	go func() {
		chunk := []byte(strings.Repeat("y", 1000))
		for {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
	}()
	defer pr.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Post("http://"+ln.Addr()+"/a", "application/json", pr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
}
