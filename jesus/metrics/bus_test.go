package metrics_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/jesus/discovery"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus/metrics"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry/registrytest"
	"github.com/prometheus/client_golang/prometheus"
)

// TestBusCollected: a bus's Stats snapshot is exported under jesus_events_*, a registry
// cache's watch state under jesus_registry_*.
func TestBusCollected(t *testing.T) {
	channeltest.CheckLeaks(t)
	_, _, cache := registrytest.Start(t, 2*time.Second)
	set, err := schema.LoadDir(filepath.Join("..", "..", "schemas"))
	if err != nil {
		t.Fatal(err)
	}
	disc := discovery.New(cache)
	defer disc.Close()
	bus, err := events.New(set.Service("orders"), set, disc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.AddBus("orders", bus); err != nil {
		t.Fatal(err)
	}
	if err := m.AddCache("main", cache); err != nil {
		t.Fatal(err)
	}
	type logRecord struct {
		Level string `json:"level"`
		Msg   string `json:"msg"`
		At    string `json:"at"`
	}
	// Nobody listens: the event passes the emitter's schema and reaches no one.
	if _, err := events.Emit(ctxT(t), bus, "log", logRecord{"info", "hello", "2026-01-02T03:04:05Z"}); err != nil {
		t.Fatal(err)
	}
	text := scrape(t, reg)
	want := `jesus_events_emitted_total{service="orders"} 1`
	for _, w := range []string{want, `jesus_events_lost_total{service="orders"} 0`, `jesus_registry_lists_total{cache="main"} 1`,
		`jesus_registry_services{cache="main"} 0`} {
		if !strings.Contains(text, w) {
			t.Fatalf("missing %s in\n%s", w, text)
		}
	}
}
