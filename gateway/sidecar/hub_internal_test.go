package sidecar

import (
	"fmt"
	"testing"
)

// A subscriber that does not read holds at most its buffer; the rest is dropped and
// counted, and publishing never blocks.
func TestHubDropsForSlowSubscribers(t *testing.T) {
	h := newHub(2, 4)
	slow, err := h.subscribe([]string{"tick"}, "")
	if err != nil {
		t.Fatal(err)
	}
	other, err := h.subscribe([]string{"tock"}, "greeter")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.subscribe([]string{"tick"}, ""); err == nil {
		t.Fatal("a third subscriber was taken, the limit is 2")
	}
	for i := 0; i < 100; i++ {
		h.publish("greeter", "tick", fmt.Sprint(i), []byte(`{}`))
	}
	h.publish("clock", "tock", "x", []byte(`{}`)) // other wants greeter's only
	if len(slow.ch) != 4 || slow.dropped.Load() != 96 || len(other.ch) != 0 {
		t.Fatalf("slow holds %d, dropped %d; other holds %d", len(slow.ch), slow.dropped.Load(), len(other.ch))
	}
	if n, drops := h.figures(); n != 2 || drops != 96 {
		t.Fatalf("figures %d %d", n, drops)
	}
	h.unsubscribe(slow)
	h.unsubscribe(slow) // repeat-safe
	h.close()
	h.close()
	if _, ok := <-other.ch; ok {
		t.Fatal("close left a subscriber's channel open")
	}
	if _, err := h.subscribe([]string{"tick"}, ""); err == nil {
		t.Fatal("subscribed to a closed hub")
	}
}
