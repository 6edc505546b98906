package discovery_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/compat"
	"github.com/jesus-go/jesus/schema/registry"
)

func publish(t *testing.T, reg *registry.Registry, d *schema.Descriptor) {
	t.Helper()
	doc, err := d.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.PublishDescriptor(ctxT(t), d.Service, d.Version, doc); err != nil {
		t.Fatal(err)
	}
}

// breakingBilling publishes billing@2.0.0 whose charge also requires a taxId that orders
// never sends.
func breakingBilling(t *testing.T, reg *registry.Registry, set *schema.Set) {
	t.Helper()
	doc, err := set.Service("billing").Bundle()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	m["version"] = "2.0.0"
	charge := m["methods"].(map[string]any)["charge"].(map[string]any)
	charge["request"] = map[string]any{"allOf": []any{charge["request"], map[string]any{"required": []any{"taxId"}}}}
	out, _ := json.Marshal(m)
	if err := reg.PublishDescriptor(ctxT(t), "billing", "2.0.0", out); err != nil {
		t.Fatal(err)
	}
}

func TestStartupCompatibility(t *testing.T) {
	leakCheck(t)
	set := loadSchemas(t)
	reg, cache := startRegistry(t)
	for _, svc := range []string{"billing", "audit"} {
		publish(t, reg, set.Service(svc))
	}
	orders := set.Service("orders")
	waitFor(t, "descriptors in the cache", func() bool { return len(cache.Services()) == 2 })

	c, err := discovery.StartCompat(orders, cache, discovery.CompatPolicy{}, nil)
	if err != nil {
		t.Fatalf("the example services must be provably compatible: %v", err)
	}
	defer c.Close()
	rep := c.Report()
	if c.Check() != nil || !c.Ready() || rep.Verdict() != compat.Compatible || len(rep.Items) < 3 {
		t.Fatalf("ready=%v verdict=%v items=%d\n%s", c.Ready(), rep.Verdict(), len(rep.Items), rep)
	}
	t.Logf("startup check of %s: %d pairs, %s", orders.ID(), len(rep.Items), rep.Verdict())

	// A peer publishes a breaking version: the running service notices.
	breakingBilling(t, reg, set)
	took := waitFor(t, "the break to be noticed", func() bool { return !c.Ready() })
	if c.Breaks() != 1 || !strings.Contains(c.Report().String(), "taxId") {
		t.Fatalf("breaks=%d report:\n%s", c.Breaks(), c.Report())
	}
	if err := c.Check(); err == nil || !strings.Contains(err.Error(), "incompatible") {
		t.Fatalf("readiness check after the break: %v", err)
	}
	t.Logf("break noticed %v after billing@2.0.0 was published:\n%s", took.Round(time.Millisecond), c.Report())

	// A new orders instance now refuses to start, with the report; warn starts anyway.
	_, err = discovery.StartCompat(orders, cache, discovery.CompatPolicy{}, nil)
	if !errors.Is(err, jesus.ErrIncompatible) || !strings.Contains(err.Error(), "billing@2.0.0") || !strings.Contains(err.Error(), "taxId") {
		t.Fatalf("want a refusal naming billing@2.0.0 and /taxId, got %v", err)
	}
	w, err := discovery.StartCompat(orders, cache, discovery.CompatPolicy{Warn: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if w.Ready() || w.Breaks() != 1 {
		t.Fatalf("warn policy: ready=%v breaks=%d", w.Ready(), w.Breaks())
	}
}
