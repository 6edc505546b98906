package compat_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/compat"
)

func loadSet(t testing.TB) []*schema.Descriptor {
	t.Helper()
	set, err := schema.LoadDir("testdata/set")
	if err != nil {
		t.Fatal(err)
	}
	return set.Services()
}

func find(t testing.TB, descs []*schema.Descriptor, svc string) *schema.Descriptor {
	t.Helper()
	for _, d := range descs {
		if d.Service == svc {
			return d
		}
	}
	t.Fatalf("no service %s", svc)
	return nil
}

// parse loads one descriptor given as JSON text.
func parse(t testing.TB, doc string) *schema.Descriptor {
	t.Helper()
	d, err := schema.Parse("d.json", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCheckCallReport(t *testing.T) {
	descs := loadSet(t)
	orders, billing := find(t, descs, "orders"), find(t, descs, "billing")
	rep := compat.CheckCall(orders, "billing.charge", billing)
	if rep.Verdict() != compat.Incompatible {
		t.Fatalf("verdict %v\n%s", rep.Verdict(), rep)
	}
	text := rep.String()
	for _, want := range []string{
		"orders@1.3.0 calls billing.charge on billing@2.0.0: request: caller can omit /customer/email, which billing@2.0.0 requires",
		`orders@1.3.0 calls billing.charge on billing@2.0.0: response: receiver can send /status "refunded", which the caller does not allow`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	var got struct {
		Verdict string
		Items   []struct {
			Part        string
			Verdict     string
			Witness     json.RawMessage
			Differences []compat.Difference
		}
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Verdict != "incompatible" || len(got.Items) != 2 || got.Items[0].Differences[0].Pointer != "/customer/email" {
		t.Fatalf("json: %s", b)
	}
	if compat.Incompatible.ExitCode() != 1 || compat.Unproven.ExitCode() != 2 || compat.Compatible.ExitCode() != 0 {
		t.Fatal("exit codes")
	}
}

func TestCheckAll(t *testing.T) {
	descs := loadSet(t)
	rep := compat.CheckAll(descs)
	text := rep.String()
	t.Log("\n" + text)
	for _, want := range []string{
		"shipping@1.0.0 calls orders.create on orders@1.3.0: request: compatible",
		"shipping@1.0.0 calls orders.create on orders@1.3.0: response: compatible",
		"orders@1.3.0 emits order.created to billing@2.0.0: payload: compatible",
		"orders@1.3.0 emits order.created to shipping@1.0.0: payload: compatible",
		`note: billing@2.0.0 listens to "payment.settled", which no service in the set emits`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if rep.Verdict() != compat.Incompatible {
		t.Errorf("verdict %v", rep.Verdict())
	}
}

func TestCheckCallStructural(t *testing.T) {
	recv := parse(t, `{"service":"b","version":"1.0.0","channels":{"rpc":"tcp+json"},
		"methods":{"fire":{"mode":"noResponse","channel":"rpc","request":{}}}}`)
	caller := parse(t, `{"service":"a","version":"0.1.0","channels":{"rpc":"tcp+json"},"calls":{"b.fire":{"request":{"type":"string"},"response":{}},
		"b.missing":{"request":{}}}}`)
	cases := []struct{ key, want string }{
		{"b.fire", "sends no response, but the caller expects one"},
		{"b.missing", `has no method "missing"`},
		{"c.fire", "does not declare a call"},
	}
	for _, c := range cases {
		rep := compat.CheckCall(caller, c.key, recv)
		if rep.Verdict() != compat.Incompatible || !strings.Contains(rep.String(), c.want) {
			t.Errorf("%s: %v\n%s", c.key, rep.Verdict(), rep)
		}
	}
	ev := compat.CheckEvent(caller, "x.y", recv)
	if ev.Verdict() != compat.Incompatible {
		t.Errorf("event not emitted: %v", ev.Verdict())
	}
	all := compat.CheckAll([]*schema.Descriptor{caller})
	if all.Verdict() != compat.Unproven || !strings.Contains(all.String(), `service "b" is not in the set`) {
		t.Errorf("missing receiver:\n%s", all)
	}
}

// TestConcurrentChecks: checks share descriptors read-only and start no
// goroutines of their own.
func TestConcurrentChecks(t *testing.T) {
	channeltest.CheckLeaks(t)
	descs := loadSet(t)
	var wg sync.WaitGroup
	reports := make([]string, 4)
	for i := range reports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reports[i] = compat.CheckAll(descs).String()
		}()
	}
	wg.Wait()
	for _, r := range reports[1:] {
		if r != reports[0] {
			t.Fatalf("reports differ:\n%s\n%s", reports[0], r)
		}
	}
}

// TestRefToDescriptorRoot: "#" inside a descriptor is the descriptor, not a schema; the
// check refuses it instead of reading it as a schema that accepts everything.
func TestRefToDescriptorRoot(t *testing.T) {
	a := compat.Schema{Root: decodeDoc(t, `{"service":"a","version":"1.0.0","calls":{"a.m":{"request":{"$ref":"#"}}}}`), Pointer: "/calls/a.m/request"}
	r := compat.Check(a, compat.Schema{Root: decodeDoc(t, `{"type":"integer"}`)})
	if r.Verdict != compat.Unproven || !strings.Contains(r.Reason, `$ref "#" points at a service descriptor`) {
		t.Fatalf("%v: %s", r.Verdict, r.Reason)
	}
}

// TestDescriptorSchemaKeyword: a document with a top-level "service" is a descriptor
// whatever the type of its value, as the validator tells it (it leaves the descriptor's own
// "$schema" out), so its "$schema" does not make the check refuse it.
func TestDescriptorSchemaKeyword(t *testing.T) {
	for _, svc := range []string{`"a"`, `1`} {
		a := compat.Schema{Root: decodeDoc(t, `{"service":`+svc+`,"$schema":"http://json-schema.org/draft-07/schema#","$defs":{"n":{"type":"integer"}}}`), Pointer: "/$defs/n"}
		r := compat.Check(a, compat.Schema{Root: decodeDoc(t, `{"type":"number"}`)})
		if r.Verdict != compat.Compatible {
			t.Fatalf("service %s: %v: %s", svc, r.Verdict, r.Reason)
		}
	}
}

// TestCheckerShared: one Checker used from several goroutines at once gives
// the answers of a fresh one.
func TestCheckerShared(t *testing.T) {
	descs := loadSet(t)
	want := compat.CheckAll(descs).String()
	k := compat.NewChecker()
	var wg sync.WaitGroup
	got := make([]string, 4)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = k.CheckAll(descs).String()
			_ = k.CheckPeers(descs[0], descs[1:])
		}()
	}
	wg.Wait()
	for _, g := range got {
		if g != want {
			t.Fatalf("shared Checker:\n%s\nfresh:\n%s", g, want)
		}
	}
}
