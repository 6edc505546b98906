package sidecar_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/gateway/sidecar"
)

func TestCall(t *testing.T) {
	e := startEnv(t, nil)
	startClock(t, e)

	t.Run("response", func(t *testing.T) {
		r := e.do(t, "POST", "/v1/call/clock.now", []byte(`{"zone":"UTC"}`), map[string]string{"Jesus-Corrid": "c-1"})
		if r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != `{"unix":1767225600,"zone":"UTC"}` {
			t.Fatalf("got %d %s", r.status, r.body)
		}
		if r.header.Get("Jesus-Corrid") != "c-1" {
			t.Fatalf("corrid %q", r.header.Get("Jesus-Corrid"))
		}
	})
	t.Run("over the unix socket", func(t *testing.T) {
		r := doOn(t, e.unix, "http://sidecar", "POST", "/v1/call/clock.now", []byte(`{"zone":"CET"}`), nil)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `"CET"`) {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
	t.Run("invalid request names the pointer", func(t *testing.T) {
		r := e.do(t, "POST", "/v1/call/clock.now", []byte(`{"zone":""}`), nil)
		m := wantError(t, r, 400, "invalid_argument")
		d, _ := m["details"].(map[string]any)
		fs, _ := d["failures"].([]any)
		if len(fs) != 1 || fs[0].(map[string]any)["pointer"] != "/zone" {
			t.Fatalf("details %v", m["details"])
		}
	})
	t.Run("a receiver that breaks its own schema", func(t *testing.T) {
		wantError(t, e.do(t, "POST", "/v1/call/clock.bad", []byte(`{}`), nil), 500, "internal")
	})
	t.Run("stream as NDJSON", func(t *testing.T) {
		r := e.do(t, "POST", "/v1/call/clock.ticks", []byte(`{"n":3}`), nil)
		want := "{\"item\":{\"i\":1}}\n{\"item\":{\"i\":2}}\n{\"item\":{\"i\":3}}\n{\"end\":{\"items\":3}}\n"
		if r.status != 200 || r.header.Get("Content-Type") != "application/x-ndjson" || string(r.body) != want {
			t.Fatalf("got %d %s %q", r.status, r.header.Get("Content-Type"), r.body)
		}
	})
	t.Run("stream as SSE", func(t *testing.T) {
		r := e.do(t, "POST", "/v1/call/clock.ticks", []byte(`{"n":2}`), map[string]string{"Accept": "text/event-stream"})
		want := "event: item\ndata: {\"i\":1}\n\nevent: item\ndata: {\"i\":2}\n\nevent: end\ndata: {\"items\":2}\n\n"
		if r.status != 200 || r.header.Get("Content-Type") != "text/event-stream" || string(r.body) != want {
			t.Fatalf("got %d %q", r.status, r.body)
		}
	})
	t.Run("mode from the header", func(t *testing.T) {
		// ticks in response mode: the receiver refuses, the error comes back as is.
		r := e.do(t, "POST", "/v1/call/clock.ticks", []byte(`{"n":2}`), map[string]string{"Jesus-Mode": "response"})
		wantError(t, r, 501, "unimplemented")
		wantError(t, e.do(t, "POST", "/v1/call/clock.now", []byte(`{}`), map[string]string{"Jesus-Mode": "sometimes"}), 400, "invalid_argument", "Jesus-Mode")
	})
}

func TestCallBadInput(t *testing.T) {
	e := startEnv(t, func(c *sidecar.Config) { c.MaxBody = 1 << 10 })
	startClock(t, e)
	cases := []struct {
		name, path, body string
		h                map[string]string
		status           int
		code             string
		parts            []string
	}{
		{"malformed JSON", "/v1/call/clock.now", `{"zone":`, nil, 400, "invalid_argument", []string{"not valid JSON", "offset"}},
		{"two values", "/v1/call/clock.now", `{} {}`, nil, 400, "invalid_argument", []string{"more than one JSON value"}},
		{"empty body", "/v1/call/clock.now", ``, nil, 400, "invalid_argument", []string{"empty body"}},
		{"oversized body", "/v1/call/clock.now", `{"zone":"` + strings.Repeat("x", 2000) + `"}`, nil, 413, "resource_exhausted", []string{"the limit is 1024"}},
		{"unknown service", "/v1/call/nosuch.now", `{}`, nil, 404, "not_found", []string{`"nosuch"`}},
		{"unknown method", "/v1/call/clock.later", `{}`, nil, 404, "not_found", []string{`"later"`, "methods: bad, echo, now, remind, ticks"}},
		{"no method", "/v1/call/clock", `{}`, nil, 400, "invalid_argument", []string{"SERVICE.METHOD"}},
		{"bad timeout", "/v1/call/clock.now", `{"zone":"a"}`, map[string]string{"Jesus-Timeout": "soon"}, 400, "invalid_argument", []string{"Jesus-Timeout"}},
		{"unknown sender", "/v1/call/clock.now", `{"zone":"a"}`, map[string]string{"Jesus-From": "ghost"}, 400, "invalid_argument", []string{`"ghost"`}},
		{"unknown API", "/v2/anything", `{}`, nil, 404, "not_found", []string{"/v2/anything"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.do(t, "POST", c.path, []byte(c.body), c.h), c.status, c.code, c.parts...)
		})
	}
	if e.sc.Stats().Rejected < uint64(len(cases)-1) {
		t.Fatalf("rejected %d", e.sc.Stats().Rejected)
	}
}

// A stream the client stops reading ends at the receiver too: the sidecar writes with a
// deadline and cancels the stream when the client is gone.
func TestCallStreamClientGone(t *testing.T) {
	e := startEnv(t, nil)
	startClock(t, e)
	req, _ := http.NewRequest("POST", e.base+"/v1/call/clock.ticks", bytes.NewReader([]byte(`{"n":1000}`)))
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	var first map[string]json.RawMessage
	if json.Unmarshal(line, &first) != nil || string(first["item"]) != `{"i":1}` {
		t.Fatalf("first line %s", line)
	}
	resp.Body.Close() // gone
	channeltest.Eventually(t, 10*time.Second, "the call counted", func() bool {
		return e.sc.Stats().Calls["clock.ticks"].Count == 1
	})
}
