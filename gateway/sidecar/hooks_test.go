package sidecar_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
)

// hookSink is an application's hook URL: it collects the answers POSTed to it.
func hookSink(t *testing.T) (string, <-chan map[string]any) {
	t.Helper()
	got := make(chan map[string]any, 8)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		got <- m
		w.WriteHeader(http.StatusNoContent)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/answers", got
}

func answer(t *testing.T, got <-chan map[string]any) map[string]any {
	t.Helper()
	select {
	case m := <-got:
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no answer at the hook")
		return nil
	}
}

// TestCallWithHook: an application calls through the sidecar with a response hook; it
// gets 202 and the request's id at once, and the answer (result or error) later at its
// hook URL, from the receiver.
func TestCallWithHook(t *testing.T) {
	e := startEnv(t, nil)
	startClock(t, e)
	url, got := hookSink(t)
	r := e.do(t, "POST", "/v1/call/clock.remind", []byte(`{"zone":"UTC"}`), map[string]string{"Jesus-Hook": url, "Jesus-Hook-Id": "req-1"})
	if r.status != http.StatusAccepted || r.header.Get("Jesus-Hook-Id") != "req-1" || r.json(t)["id"] != "req-1" {
		t.Fatalf("call with a hook: %d %s", r.status, r.body)
	}
	a := answer(t, got)
	if a["id"] != "req-1" || a["result"].(map[string]any)["zone"] != "UTC" {
		t.Fatalf("answer %v", a)
	}
	r = e.do(t, "POST", "/v1/call/clock.remind", []byte(`{"zone":"nowhere"}`), map[string]string{"Jesus-Hook": url})
	id := r.json(t)["id"]
	a = answer(t, got)
	if a["id"] != id || a["error"].(map[string]any)["code"] != "not_found" {
		t.Fatalf("error answer %v (id %v)", a, id)
	}
	// A hook on a method that answers at once, a bad hook, a bad deadline: refused.
	wantError(t, e.do(t, "POST", "/v1/call/clock.now", []byte(`{"zone":"UTC"}`), map[string]string{"Jesus-Hook": url}), http.StatusBadRequest, "invalid_argument", "ack mode")
	wantError(t, e.do(t, "POST", "/v1/call/clock.remind", []byte(`{"zone":"UTC"}`), map[string]string{"Jesus-Hook": "ftp://x"}), http.StatusBadRequest, "invalid_argument", "Jesus-Hook")
	wantError(t, e.do(t, "POST", "/v1/call/clock.remind", []byte(`{"zone":"UTC"}`), map[string]string{"Jesus-Hook": url, "Jesus-Hook-Deadline": "soon"}), http.StatusBadRequest, "invalid_argument", "Jesus-Hook-Deadline")
}

// TestAnswer: an application that was called with a hook answers later through the
// sidecar, which delivers the answer to the hook.
func TestAnswer(t *testing.T) {
	e := startEnv(t, nil)
	url, got := hookSink(t)
	body := `{"hook":"` + url + `","id":"job-7","tag":"t","result":{"done":true}}`
	if r := e.do(t, "POST", "/v1/answer", []byte(body), nil); r.status != http.StatusAccepted {
		t.Fatalf("answer: %d %s", r.status, r.body)
	}
	if a := answer(t, got); a["id"] != "job-7" || a["tag"] != "t" || a["result"].(map[string]any)["done"] != true {
		t.Fatalf("delivered %v", a)
	}
	body = `{"hook":"` + url + `","id":"job-8","error":{"code":"unavailable","message":"the printer is off"}}`
	e.do(t, "POST", "/v1/answer", []byte(body), nil)
	if a := answer(t, got); a["error"].(map[string]any)["message"] != "the printer is off" {
		t.Fatalf("delivered %v", a)
	}
	for _, bad := range []string{`{`, `{"hook":"ftp://x","id":"1"}`, `{"hook":"` + url + `","id":""}`, `{"hook":"` + url + `","id":"1","error":{"code":"oops"}}`} {
		r := e.do(t, "POST", "/v1/answer", []byte(bad), nil)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "answer") {
			t.Errorf("%s: %d %s", bad, r.status, r.body)
		}
	}
}

// TestAppAnswersLater: a caller's hook reaches an application served through the
// sidecar as headers; the application answers later with POST /v1/answer, and the answer
// arrives at the caller's hook.
func TestAppAnswersLater(t *testing.T) {
	e := startEnv(t, nil)
	a := startGoApp(t)
	registerGoApp(t, e, a, nil)
	url, got := hookSink(t)
	r := e.do(t, "POST", "/v1/call/greeter.note", []byte(`{"text":"print this"}`), map[string]string{"Jesus-Hook": url, "Jesus-Hook-Id": "n-1"})
	if r.status != http.StatusAccepted {
		t.Fatalf("call: %d %s", r.status, r.body)
	}
	channeltest.Eventually(t, 10*time.Second, "the hook at the app", func() bool {
		for _, s := range a.reached("hook") {
			if s == url+" n-1" {
				return true
			}
		}
		return false
	})
	e.do(t, "POST", "/v1/answer", []byte(`{"hook":"`+url+`","id":"n-1","result":{"printed":true}}`), nil)
	if ans := answer(t, got); ans["id"] != "n-1" || ans["result"].(map[string]any)["printed"] != true {
		t.Fatalf("answer %v", ans)
	}
}
