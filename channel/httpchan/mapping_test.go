package httpchan_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/httpchan"
)

func TestRequestMappingRoundTrip(t *testing.T) {
	full := channel.Meta{
		CorrID: "c-1", UserID: "u 1", From: "billing@1.2.0", ReqIn: -5, ReqOut: 1700000000000000002,
		Channel: "http+json", Trace: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		Extra: map[string]string{"Event-Id": "e-9", "Tenant": "ünïcode"},
	}
	cases := []struct {
		name string
		in   channel.Envelope
		want func(*channel.Envelope) // adjusts the expectation where the mapping normalises
	}{
		{"minimal", channel.Envelope{Mode: channel.ModeResponse, Method: "orders.create"}, nil},
		{"json", channel.Envelope{Mode: channel.ModeAck, Method: "a", Codec: "json", Data: []byte(`{}`)}, nil},
		{"json+none", channel.Envelope{Mode: channel.ModeStream, Method: "a", Codec: "json+none", Data: []byte(`{}`)}, nil},
		{"msgpack+zstd", channel.Envelope{Mode: channel.ModeNoResponse, Method: "a", Codec: "msgpack+zstd", Data: []byte{1, 2}}, nil},
		{"msgpack+s2", channel.Envelope{Mode: channel.ModeResponse, Method: "a", Codec: "msgpack+s2"}, nil},
		{"json+gzip", channel.Envelope{Mode: channel.ModeResponse, Method: "a", Codec: "json+gzip"}, nil},
		{"other codec", channel.Envelope{Mode: channel.ModeResponse, Method: "a", Codec: "cbor+lz4"}, nil},
		{"escaped method", channel.Envelope{Mode: channel.ModeResponse, Method: "a/b c?d%e#f"}, nil},
		{"meta", channel.Envelope{Mode: channel.ModeResponse, Method: "a", Meta: full, Timeout: 1500 * time.Millisecond}, nil},
		{"lower-case extra", channel.Envelope{Mode: channel.ModeResponse, Method: "a", Meta: channel.Meta{Extra: map[string]string{"event-id": "1"}}},
			func(e *channel.Envelope) { e.Meta.Extra = map[string]string{"Event-Id": "1"} }},
		{"sub-ms timeout rounds up", channel.Envelope{Mode: channel.ModeResponse, Method: "a", Timeout: 1500 * time.Microsecond},
			func(e *channel.Envelope) { e.Timeout = 2 * time.Millisecond }},
		{"timeout capped", channel.Envelope{Mode: channel.ModeResponse, Method: "a", Timeout: 1000 * time.Hour},
			func(e *channel.Envelope) { e.Timeout = httpchan.MaxTimeout }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			in.Type = channel.TypeRequest
			r, err := httpchan.NewRequest(context.Background(), "http://example.com/prefix/", &in)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(r.URL.EscapedPath(), "/prefix/") {
				t.Fatalf("path %q lost the prefix", r.URL.EscapedPath())
			}
			r.URL.Path = strings.TrimPrefix(r.URL.Path, "/prefix")
			r.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, "/prefix")
			got, err := httpchan.ParseRequest(r, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			want := in
			if c.want != nil {
				c.want(&want)
			}
			if len(want.Data) == 0 {
				want.Data = nil
			}
			if !reflect.DeepEqual(*got, want) {
				t.Fatalf("got  %+v\nwant %+v", *got, want)
			}
		})
	}
}

func TestNewRequestRefuses(t *testing.T) {
	many := map[string]string{}
	for i := 0; i <= channel.MaxExtra; i++ {
		many[strings.Repeat("k", i+1)] = "v"
	}
	cases := []struct {
		name string
		e    channel.Envelope
		want string
	}{
		{"no method", channel.Envelope{Mode: channel.ModeResponse}, "without a method"},
		{"bad mode", channel.Envelope{Mode: 9, Method: "a"}, "mode"},
		{"newline", channel.Envelope{Mode: channel.ModeResponse, Method: "a", Meta: channel.Meta{CorrID: "a\nb"}}, "corrid"},
		{"spaces", channel.Envelope{Mode: channel.ModeResponse, Method: "a", Meta: channel.Meta{From: " x"}}, "from"},
		{"bad extra key", channel.Envelope{Mode: channel.ModeResponse, Method: "a", Meta: channel.Meta{Extra: map[string]string{"a b": "1"}}}, "extra meta key"},
		{"too many extra", channel.Envelope{Mode: channel.ModeResponse, Method: "a", Meta: channel.Meta{Extra: many}}, "limit of 64"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.e.Type = channel.TypeRequest
			_, err := httpchan.NewRequest(context.Background(), "http://h", &c.e)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "httpchan: ") {
				t.Fatalf("got %v, want an httpchan error containing %q", err, c.want)
			}
		})
	}
}

func TestParseRequestModes(t *testing.T) {
	for _, c := range []struct {
		header string
		mode   channel.Mode
	}{{"", channel.ModeResponse}, {"noResponse", channel.ModeNoResponse}, {"ACK", channel.ModeAck}, {"response", channel.ModeResponse}, {"stream", channel.ModeStream}} {
		r, _ := http.NewRequest("POST", "http://h/m", nil)
		if c.header != "" {
			r.Header.Set("Jesus-Mode", c.header)
		}
		e, err := httpchan.ParseRequest(r, 100)
		if err != nil || e.Mode != c.mode {
			t.Errorf("Jesus-Mode %q: got %v %v, want %s", c.header, e, err, c.mode)
		}
	}
	r, _ := http.NewRequest("POST", "http://h/m", strings.NewReader(strings.Repeat("x", 101)))
	_, err := httpchan.ParseRequest(r, 100)
	var re *httpchan.RequestError
	if !errors.As(err, &re) || re.Status != 413 || re.Code != channel.CodeResourceExhausted {
		t.Fatalf("over the limit: %v", err)
	}
}

func TestStatusMapping(t *testing.T) {
	want := map[string]int{
		"invalid_argument": 400, "not_found": 404, "unimplemented": 501, "unavailable": 503,
		"deadline_exceeded": 504, "resource_exhausted": 429, "canceled": 499, "incompatible": 409,
		"permission_denied": 403, "unauthenticated": 401, "already_exists": 409,
		"failed_precondition": 412, "internal": 500, "something_else": 500, "bad_response": 502,
	}
	for code, status := range want {
		if got := httpchan.StatusFromCode(code); got != status {
			t.Errorf("StatusFromCode(%q) = %d, want %d", code, got, status)
		}
		if code == "incompatible" || code == "something_else" || code == "bad_response" {
			continue // 409 is shared; unknown codes are not recovered; a bare 502 is a proxy's
		}
		if got := httpchan.CodeFromStatus(status); got != code {
			t.Errorf("CodeFromStatus(%d) = %q, want %q", status, got, code)
		}
	}
	if got := httpchan.CodeFromStatus(502); got != "unavailable" {
		t.Errorf("CodeFromStatus(502) = %q", got)
	}
}

// TestParseRequestShortBody: a body shorter than its Content-Length is refused clearly.
func TestParseRequestShortBody(t *testing.T) {
	r, _ := http.NewRequest("POST", "http://h/m", strings.NewReader("abc"))
	r.ContentLength = 200000
	_, err := httpchan.ParseRequest(r, 1<<20)
	var re *httpchan.RequestError
	if !errors.As(err, &re) || re.Status != 400 || !strings.Contains(re.Message, "Content-Length of 200000") {
		t.Fatalf("got %v", err)
	}
	r, _ = http.NewRequest("POST", "http://h/m", strings.NewReader(strings.Repeat("z", 200000)))
	e, err := httpchan.ParseRequest(r, 1<<20)
	if err != nil || len(e.Data) != 200000 {
		t.Fatalf("a 200000-byte body: %v", err)
	}
}
