package compat_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/compat"
)

// The fleet: services × methods; service i calls method j of service i+j+1
// (every method of the fleet is called once), emits one event that the next
// five services listen to. Callers send narrower requests than receivers
// accept and expect wider responses than receivers send, the way services that
// agree are written, so every relation is compatible.
const (
	fleetServices  = 100
	fleetMethods   = 20
	fleetListeners = 5
)

// fleetSchemas are (receiver request, caller request, receiver response,
// caller's expected response) by method kind.
var fleetSchemas = [][4]string{
	{`{"type":"object","required":["id"],"properties":{"id":{"type":"string","pattern":"^[a-z0-9-]{1,36}$"},"qty":{"type":"integer","minimum":1,"maximum":1000},"note":{"type":["string","null"]}}}`,
		`{"type":"object","required":["id","qty"],"additionalProperties":false,"properties":{"id":{"type":"string","pattern":"^[a-z]{1,8}$"},"qty":{"type":"integer","minimum":1,"maximum":10}}}`,
		`{"type":"object","required":["ok","id"],"properties":{"ok":{"type":"boolean"},"id":{"type":"string","format":"uuid"}}}`,
		`{"type":"object","properties":{"ok":{"type":"boolean"},"id":{"type":"string","maxLength":36}}}`},
	{`{"$ref":"#/$defs/Money"}`,
		`{"type":"object","required":["amount","currency"],"properties":{"amount":{"type":"integer","minimum":1},"currency":{"const":"EUR"}}}`,
		`{"type":"object","required":["status"],"properties":{"status":{"enum":["paid","declined"]},"at":{"type":"string","format":"date-time"}}}`,
		`{"type":"object","properties":{"status":{"type":"string","pattern":"^[a-z]+$"},"at":{"type":"string","minLength":20}}}`},
	{`{"type":"array","maxItems":100,"items":{"type":"object","required":["sku"],"properties":{"sku":{"type":"string","maxLength":32},"n":{"type":"integer","minimum":0}}}}`,
		`{"type":"array","maxItems":10,"items":{"type":"object","required":["sku","n"],"additionalProperties":false,"properties":{"sku":{"type":"string","pattern":"^SKU-[0-9]{4}$"},"n":{"type":"integer","minimum":1,"maximum":99}}}}`,
		`{"type":"array","items":{"type":"integer","minimum":0,"maximum":9}}`,
		`{"type":"array","items":{"anyOf":[{"type":"integer","maximum":4},{"type":"integer","minimum":5}]}}`},
	{`{"anyOf":[{"type":"string","format":"date"},{"type":"integer","minimum":0}]}`,
		`{"type":"string","format":"date"}`,
		`{"type":"string","format":"date"}`,
		`{"type":"string","pattern":"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}`},
	{`{"oneOf":[{"type":"object","required":["kind"],"properties":{"kind":{"const":"a"},"x":{"type":"number"}}},{"type":"object","required":["kind"],"properties":{"kind":{"const":"b"}}}]}`,
		`{"type":"object","required":["kind","x"],"properties":{"kind":{"const":"a"},"x":{"type":"integer"}}}`,
		`{"type":"object","required":["n"],"properties":{"n":{"type":"integer","exclusiveMinimum":0}}}`,
		`{"type":"object","properties":{"n":{"not":{"type":"integer","maximum":0}}}}`},
}

const fleetMoney = `{"type":"object","required":["amount","currency"],"properties":{"amount":{"type":"number","minimum":0,"multipleOf":0.01},"currency":{"enum":["EUR","USD","GBP"]}}}`

// fleetDoc is the descriptor of service i; rev changes its content.
func fleetDoc(i, rev int) []byte {
	svc := func(i int) string { return fmt.Sprintf("svc%03d", (i+fleetServices)%fleetServices) }
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	methods := map[string]any{}
	calls := map[string]any{}
	for j := 0; j < fleetMethods; j++ {
		s := fleetSchemas[j%len(fleetSchemas)]
		methods[fmt.Sprintf("m%02d", j)] = map[string]any{"mode": "response", "channel": "rpc", "request": raw(s[0]), "response": raw(s[2])}
		k := fleetSchemas[j%len(fleetSchemas)]
		calls[fmt.Sprintf("%s.m%02d", svc(i+j+1), j)] = map[string]any{"request": raw(k[1]), "response": raw(k[3])}
	}
	listens := map[string]any{}
	for l := 1; l <= fleetListeners; l++ {
		listens["evt."+svc(i-l)] = map[string]any{"payload": raw(`{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"n":{"type":"number"}}}`)}
	}
	doc := map[string]any{
		"service": svc(i), "version": fmt.Sprintf("1.%d.0", rev), "channels": map[string]any{"rpc": "tcp+msgpack"},
		"$defs":   map[string]any{"Money": raw(fleetMoney)},
		"methods": methods, "calls": calls, "listens": listens,
		"events": map[string]any{"evt." + svc(i): map[string]any{"channel": "rpc", "mode": "ack",
			"payload": raw(fmt.Sprintf(`{"type":"object","required":["id","n"],"properties":{"id":{"type":"string","maxLength":%d},"n":{"type":"integer"}}}`, 10+rev))}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return b
}

func fleet(tb testing.TB) []*schema.Descriptor {
	tb.Helper()
	fsys := fstest.MapFS{}
	for i := 0; i < fleetServices; i++ {
		fsys[fmt.Sprintf("svc%03d.json", i)] = &fstest.MapFile{Data: fleetDoc(i, 0)}
	}
	set, err := schema.LoadFS(fsys)
	if err != nil {
		tb.Fatal(err)
	}
	return set.Services()
}

// changed returns the fleet with service 0 replaced by its revision rev.
func changed(tb testing.TB, descs []*schema.Descriptor, rev int) []*schema.Descriptor {
	tb.Helper()
	d, err := schema.Parse("svc000.json", fleetDoc(0, rev))
	if err != nil {
		tb.Fatal(err)
	}
	out := append([]*schema.Descriptor(nil), descs...)
	out[0] = d
	return out
}

// fleetRelations is the number of relations CheckAll proves in the fleet.
const fleetRelations = fleetServices*fleetMethods + fleetServices*fleetListeners

// fleetTouching is the number of relations that involve one service: its
// calls, the calls to it, the events it emits and those it listens to.
const fleetTouching = 2*fleetMethods + 2*fleetListeners

func TestFleet(t *testing.T) {
	descs := fleet(t)
	k := compat.NewChecker()
	rep := k.CheckAll(descs)
	if rep.Verdict() != compat.Compatible {
		for _, it := range rep.Items {
			if it.Verdict != compat.Compatible {
				t.Errorf("%v", it.Lines())
			}
		}
		t.FailNow()
	}
	if n := k.Checked(); n != fleetRelations {
		t.Fatalf("checked %d relations, want %d", n, fleetRelations)
	}
	if k.CheckAll(descs); k.Checked() != fleetRelations {
		t.Fatalf("an unchanged fleet was checked again: %d", k.Checked())
	}
	// One descriptor changes: only the relations that involve it are proven again.
	for rev := 1; rev <= 3; rev++ {
		before := k.Checked()
		if v := k.CheckAll(changed(t, descs, rev)).Verdict(); v != compat.Compatible {
			t.Fatalf("rev %d: %v", rev, v)
		}
		if n := k.Checked() - before; n != fleetTouching {
			t.Fatalf("rev %d: re-checked %d relations, want the %d that involve the changed service", rev, n, fleetTouching)
		}
	}
	// The same answers as a Checker that starts from nothing.
	if a, b := k.CheckAll(descs).String(), compat.CheckAll(descs).String(); a != b {
		t.Fatalf("a remembering Checker answers differently:\n%s\n%s", a, b)
	}
}

// BenchmarkFleetCheckAll checks every call and event of the fleet from a
// fresh Checker: bundling, compiling and proving everything once.
func BenchmarkFleetCheckAll(b *testing.B) {
	descs := fleet(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if compat.NewChecker().CheckAll(descs).Verdict() != compat.Compatible {
			b.Fatal("verdict")
		}
	}
	b.ReportMetric(float64(fleetRelations), "relations/op")
}

// BenchmarkFleetRecheckOneChanged re-checks the fleet after one descriptor
// changed, on a Checker that has checked it before.
func BenchmarkFleetRecheckOneChanged(b *testing.B) {
	descs := fleet(b)
	k := compat.NewChecker()
	k.CheckAll(descs)
	var variants [][]*schema.Descriptor
	for rev := 1; rev <= 8; rev++ {
		variants = append(variants, changed(b, descs, rev))
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		// Alternate with the original so that every round has a change to prove.
		v := variants[i%len(variants)]
		if i%2 == 1 {
			v = descs
		}
		i++
		if k.CheckAll(v).Verdict() != compat.Compatible {
			b.Fatal("verdict")
		}
	}
}

// BenchmarkFleetEachRelationAlone is the peer of BenchmarkFleetCheckAll in the
// same run: every relation checked by a Checker of its own, which compiles
// what it needs afresh, the way each check worked before checks shared their
// compiled schemas.
func BenchmarkFleetEachRelationAlone(b *testing.B) {
	descs := fleet(b)
	bySvc := map[string]*schema.Descriptor{}
	for _, d := range descs {
		bySvc[d.Service] = d
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, d := range descs {
			for key := range d.Calls {
				svc, _, _ := strings.Cut(key, ".")
				if compat.CheckCall(d, key, bySvc[svc]).Verdict() != compat.Compatible {
					b.Fatal("verdict")
				}
				n++
			}
			for ev := range d.Listens {
				svc := strings.TrimPrefix(ev, "evt.")
				if compat.CheckEvent(bySvc[svc], ev, d).Verdict() != compat.Compatible {
					b.Fatal("verdict")
				}
				n++
			}
		}
		if n != fleetRelations {
			b.Fatalf("%d relations", n)
		}
	}
	b.ReportMetric(float64(fleetRelations), "relations/op")
}
