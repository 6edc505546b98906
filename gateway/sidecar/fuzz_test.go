package sidecar

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/jesus-go/jesus/jesus"
)

// FuzzDecodeJSON: any body is one JSON value or an invalid_argument error.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1,2]`, `"x"`, `{"a":`, `{} {}`, ``, `1e999`, `{"a":1.5e3}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := decodeJSON(data, "fuzz")
		if err != nil {
			if jesus.CodeOf(err) != jesus.CodeInvalidArgument {
				t.Fatalf("code %s: %v", jesus.CodeOf(err), err)
			}
			return
		}
		if _, err := json.Marshal(v); err != nil {
			t.Fatalf("decoded %#v does not marshal: %v", v, err)
		}
	})
}

// FuzzStreamLines: an app's stream body, whatever it holds, is read line by line within
// the limit into items, an end, an app error or a parse error.
func FuzzStreamLines(f *testing.F) {
	for _, s := range []string{
		"{\"item\":{\"i\":1}}\n{\"end\":{}}\n",
		"{\"item\":1}\n{\"error\":{\"code\":\"not_found\",\"message\":\"x\"}}\n",
		"{\"error\":{\"code\":\"made_up\"}}", "{\"item\":null}\n", "garbage\n", "{\"item\":{\"i\":1}}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 256
		br := bufio.NewReaderSize(bytes.NewReader(data), 16)
		for {
			line, err := readLine(br, limit)
			if err != nil {
				return
			}
			if len(line) > limit+1 {
				t.Fatalf("line of %d bytes over the limit %d", len(line), limit)
			}
			_, end, appErr, err := parseStreamLine(line)
			if appErr != nil && !appErr.Code.Valid() {
				t.Fatalf("app error with code %q", appErr.Code)
			}
			if end || appErr != nil || err != nil {
				return
			}
		}
	})
}

// FuzzErrorFromReply: an app's error reply always becomes an error with a valid code.
func FuzzErrorFromReply(f *testing.F) {
	f.Add(404, "", []byte(`{"code":"not_found","message":"x"}`))
	f.Add(502, "bad_response", []byte(`<html>`))
	f.Add(418, "made_up", []byte(`{"code":"made_up"}`))
	f.Add(500, "", []byte(`{"code":"invalid_argument","details":{"failures":[{"pointer":"/a"}]}}`))
	f.Fuzz(func(t *testing.T, status int, code string, body []byte) {
		h := http.Header{}
		h.Set("Jesus-Error-Code", code)
		e := errorFromReply(status, h, body, "app")
		if e == nil || !e.Code.Valid() {
			t.Fatalf("got %#v", e)
		}
		if b, err := json.Marshal(toErrorJSON(e)); err != nil || !json.Valid(b) {
			t.Fatalf("the error does not marshal: %v", err)
		}
	})
}

// FuzzAppConfig: a registration body, whatever it holds, is refused with a clear error or
// gives an app, without I/O.
func FuzzAppConfig(f *testing.F) {
	f.Add([]byte(`{"descriptor":{"service":"greeter","version":"1.0.0","channels":{"rpc":"http+json"}},"url":"http://127.0.0.1:1","healthcheck":"/h"}`))
	f.Add([]byte(`{"descriptor":{"service":"g","version":"1.0.0","channels":{"l":"unix+json"}},"url":"unix:///x.sock"}`))
	f.Add([]byte(`{"descriptor":{"service":"g"},"url":"ftp://x","intervalMs":-1}`))
	s := &Sidecar{cfg: Config{}.withDefaults()}
	f.Fuzz(func(t *testing.T, body []byte) {
		var cfg AppConfig
		if json.Unmarshal(body, &cfg) != nil {
			return
		}
		a, err := s.newApp(cfg)
		if err != nil {
			if c := jesus.CodeOf(err); c != jesus.CodeInvalidArgument && c != jesus.CodeFailedPrecondition {
				t.Fatalf("code %s: %v", c, err)
			}
			return
		}
		a.hc.CloseIdleConnections()
	})
}
