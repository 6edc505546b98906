package events_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestEventByHand: an event sent as PROTOCOL.md §8 shows (what curl sends) is handled once;
// the same event id again is acked and suppressed; a request without an event id is
// dropped and counted; a payload that fails the listen schema is refused with 400.
func TestEventByHand(t *testing.T) {
	leakCheck(t)
	set := loadSchemas(t)
	reg, cache := startRegistry(t)
	var s seen
	billing := startNode(t, set, reg, cache, "billing", true, handlerOf(&s, "billing"))
	addr := strings.TrimPrefix(billing.srv.Endpoints()["domain"], "http+json+gzip://")
	const body = `{"orderId":"o-1","customerId":"c-1","total":{"amount":19.99,"currency":"EUR"},"at":"2026-01-02T03:04:05Z"}`
	post := func(id, payload string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(ctxT(t), "POST", "http://"+addr+"/billing.event:order.created", strings.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Jesus-Mode", "ack")
		req.Header.Set("Jesus-From", "orders")
		req.Header.Set("Jesus-Meta-Event", "order.created")
		if id != "" {
			req.Header.Set("Jesus-Meta-Event-Id", id)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if c := post("id-1", body); c != http.StatusAccepted {
		t.Fatalf("status %d", c)
	}
	waitFor(t, "the handler", func() bool { return s.count("billing") == 1 })
	if c := post("id-1", body); c != http.StatusAccepted {
		t.Fatalf("repeat: status %d", c)
	}
	if c := post("", body); c != http.StatusAccepted {
		t.Fatalf("no id: status %d", c)
	}
	if c := post("id-2", `{"orderId":"o-2"}`); c != http.StatusBadRequest {
		t.Fatalf("invalid payload: status %d", c)
	}
	waitFor(t, "the repeat and the bad meta to be counted", func() bool {
		st := billing.bus.Stats()
		return st.Duplicates == 1 && st.DecodeErrors == 1
	})
	st := billing.bus.Stats()
	if st.Received != 1 || st.Invalid != 1 || s.runs("billing", "id-1") != 1 || s.count("billing") != 1 {
		t.Fatalf("stats %+v, runs %d", st, s.runs("billing", "id-1"))
	}
}
