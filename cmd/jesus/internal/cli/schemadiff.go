package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/compat"
	"github.com/jesus-go/jesus/schema/registry"
	"github.com/spf13/cobra"
)

// diffItem is one change between two descriptors and whether B can replace A for it.
type diffItem struct {
	Kind        string              `json:"kind"` // method, event, listen, call, channel
	Name        string              `json:"name"`
	Part        string              `json:"part,omitempty"` // request, response, stream item, payload, mode, channel
	Change      string              `json:"change"`         // added, removed, changed, same
	Verdict     compat.Verdict      `json:"verdict"`
	Differences []compat.Difference `json:"differences,omitempty"`
	Witness     json.RawMessage     `json:"witness,omitempty"`
	Reason      string              `json:"reason,omitempty"`
}

func (it diffItem) lines() []string {
	head := it.Kind + " " + it.Name
	if it.Part != "" {
		head += ": " + it.Part
	}
	head += ": " + it.Change
	switch {
	case it.Verdict == compat.Unproven:
		return []string{head + ": cannot prove: " + it.Reason}
	case it.Verdict == compat.Compatible && it.Reason == "":
		return []string{head + ": compatible"}
	case it.Verdict == compat.Compatible:
		return []string{head + ": compatible: " + it.Reason}
	}
	var out []string
	if len(it.Differences) == 0 {
		out = append(out, head+": incompatible: "+it.Reason)
	}
	for _, d := range it.Differences {
		p := d.Pointer
		if p == "" {
			p = "/"
		}
		out = append(out, head+": incompatible: "+p+": "+d.Reason)
	}
	if it.Witness != nil {
		out = append(out, "  for example: "+string(it.Witness))
	}
	return out
}

func newSchemaDiffCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "What changed between two descriptors, and whether NEW can replace OLD",
		Long: `diff compares two descriptors of a service: each is SERVICE@VERSION (published;
SERVICE alone is the latest) or a descriptor FILE (with the fragments of its directory).
It lists methods, events, listens, calls and channels added, removed or changed, and for
every schema whether NEW can replace OLD: requests and listened payloads may only widen
(NEW accepts all OLD accepted), responses, stream items and emitted payloads may only
narrow (NEW sends nothing OLD's peers refuse). The proofs are those of jesus check.

Exit status: 0 compatible, 1 incompatible, 2 cannot prove; --json prints one document.

Examples:
  jesus schema diff orders@1.1.0 orders@1.2.0
  jesus schema diff orders schemas/orders.json`,
		Args: argsBetween(2, 2),
		RunE: func(c *cobra.Command, args []string) error {
			var cn *conn
			defer func() {
				if cn != nil {
					cn.Close()
				}
			}()
			var ds [2]*diffDesc
			for i, a := range args {
				d, err := g.diffSide(c.Context(), a, &cn)
				if err != nil {
					return err
				}
				ds[i] = d
			}
			if ds[0].Service != ds[1].Service {
				return usagef("schema diff: %s and %s are different services", ds[0].ID(), ds[1].ID())
			}
			items := diffDescs(ds[0], ds[1])
			v := compat.Compatible
			for _, it := range items {
				if it.Verdict > v {
					v = it.Verdict
				}
			}
			if asJSON {
				if err := writeJSONLine(g.env.Stdout, map[string]any{"old": ds[0].ID(), "new": ds[1].ID(), "verdict": v, "items": items}); err != nil {
					return withCode(ExitFailure, err)
				}
			} else {
				fmt.Fprintf(g.env.Stdout, "%s -> %s\n", ds[0].ID(), ds[1].ID())
				changed := 0
				for _, it := range items {
					if it.Change == "same" && it.Verdict == compat.Compatible {
						continue
					}
					changed++
					for _, l := range it.lines() {
						fmt.Fprintln(g.env.Stdout, l)
					}
				}
				if changed == 0 {
					fmt.Fprintln(g.env.Stdout, "no change")
				}
				fmt.Fprintf(g.env.Stdout, "%s: %s can replace %s: %s\n", v, ds[1].ID(), ds[0].ID(), map[compat.Verdict]string{
					compat.Compatible: "yes", compat.Incompatible: "no", compat.Unproven: "not proven"}[v])
			}
			if code := v.ExitCode(); code != 0 {
				return silent{code}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the comparison as one JSON document")
	return cmd
}

// diffSide loads one argument of diff: a file, or SERVICE[@VERSION] from the registry
// (opened once, into *cn).
func (g *globals) diffSide(ctx context.Context, arg string, cn **conn) (*diffDesc, error) {
	if st, err := os.Stat(arg); err == nil && !st.IsDir() || strings.HasSuffix(arg, ".json") {
		l, err := loadPath(arg)
		if err != nil {
			return nil, withCode(ExitFailure, fmt.Errorf("schema diff: %s: %w", arg, err))
		}
		d := l.descs[0]
		doc, err := d.Bundle()
		if err != nil {
			return nil, withCode(ExitFailure, fmt.Errorf("schema diff: %s: %w", d.ID(), err))
		}
		cd, err := newDiffDesc(d.Service+"@"+d.Version+".json", doc)
		if err != nil {
			return nil, withCode(ExitFailure, fmt.Errorf("schema diff: %s: %w", d.ID(), err))
		}
		return cd, nil
	}
	svc, ver, _ := strings.Cut(arg, "@")
	if !registry.ValidService(svc) {
		return nil, usagef("schema diff: %q is neither a file nor SERVICE@VERSION", arg)
	}
	if *cn == nil {
		c, err := g.open(ctx)
		if err != nil {
			return nil, err
		}
		*cn = c
	}
	reg := (*cn).reg
	if ver == "" {
		vs, err := reg.Versions(ctx, svc)
		if err != nil {
			return nil, registryErr(fmt.Errorf("schema diff: %w", err))
		}
		if len(vs) == 0 {
			return nil, withCode(ExitFailure, fmt.Errorf("schema diff: no service %q in the registry (%s)", svc, (*cn).where))
		}
		ver = vs[len(vs)-1]
	}
	doc, err := reg.Descriptor(ctx, svc, ver)
	if err != nil {
		known, _ := reg.Versions(ctx, svc)
		return nil, withCode(ExitFailure, fmt.Errorf("schema diff: %s@%s: %v (published: %s)", svc, ver, err, strings.Join(known, ", ")))
	}
	cd, err := newDiffDesc(svc+"@"+ver+".json", doc)
	if err != nil {
		return nil, withCode(ExitFailure, fmt.Errorf("schema diff: %s@%s: %w", svc, ver, err))
	}
	return cd, nil
}

// diffDescs compares every method, event, listen, call and channel of a and b.
func diffDescs(a, b *diffDesc) []diffItem {
	out := diffNames("channel", "callers reach methods through the channels NEW publishes", a.Channels, b.Channels, nil)
	out = append(out, diffEndpoints("method", a, b, a.endpoints("method"), b.endpoints("method"))...)
	out = append(out, diffEndpoints("event", a, b, a.endpoints("event"), b.endpoints("event"))...)
	out = append(out, diffEndpoints("call", a, b, a.endpoints("call"), b.endpoints("call"))...)
	return append(out, diffNames("listen", "NEW no longer receives the event", a.Listens, b.Listens, func(n string) diffItem {
		return check("listen", n, "payload", a, b, false, "listens", n, "payload")
	})...)
}

// diffNames reports the names only in a as removed (compatible, for the reason given) and
// those only in b as added; a name in both is inBoth's to compare (nil: nothing to say).
func diffNames[V any](kind, removed string, a, b map[string]V, inBoth func(name string) diffItem) []diffItem {
	var out []diffItem
	for _, n := range unionKeys(a, b) {
		_, inA := a[n]
		_, inB := b[n]
		switch {
		case inA && !inB:
			out = append(out, diffItem{Kind: kind, Name: n, Change: "removed", Verdict: compat.Compatible, Reason: removed})
		case !inA && inB:
			out = append(out, diffItem{Kind: kind, Name: n, Change: "added", Verdict: compat.Compatible})
		case inBoth != nil:
			out = append(out, inBoth(n))
		}
	}
	return out
}

func diffEndpoints(kind string, a, b *diffDesc, ea, eb map[string]endpoint) []diffItem {
	var out []diffItem
	section := map[string]string{"method": "methods", "event": "events", "call": "calls"}[kind]
	for _, n := range unionKeys(ea, eb) {
		x, inA := ea[n]
		y, inB := eb[n]
		switch {
		case inA && !inB:
			it := diffItem{Kind: kind, Name: n, Change: "removed", Verdict: compat.Incompatible, Reason: map[string]string{
				"method": "callers of OLD call it", "event": "listeners of OLD wait for it", "call": ""}[kind]}
			if kind == "call" {
				it.Verdict = compat.Compatible
			}
			out = append(out, it)
			continue
		case !inA && inB:
			out = append(out, diffItem{Kind: kind, Name: n, Change: "added", Verdict: compat.Compatible})
			continue
		}
		if x.Mode != y.Mode && x.Mode != "" && y.Mode != "" {
			out = append(out, diffItem{Kind: kind, Name: n, Part: "mode", Change: "changed", Verdict: compat.Incompatible,
				Reason: fmt.Sprintf("mode %s -> %s", x.Mode, y.Mode)})
		}
		if x.Channel != y.Channel {
			out = append(out, diffItem{Kind: kind, Name: n, Part: "channel", Change: "changed", Verdict: compat.Compatible,
				Reason: fmt.Sprintf("channel %s -> %s", x.Channel, y.Channel)})
		}
		switch kind {
		case "method":
			out = append(out, check(kind, n, "request", a, b, false, section, n, "request"))
			if y.Mode == "response" || y.Mode == "stream" {
				part := "response"
				if y.Mode == "stream" {
					part = "stream item"
				}
				out = append(out, check(kind, n, part, a, b, true, section, n, "response"))
			}
		case "event":
			out = append(out, check(kind, n, "payload", a, b, true, section, n, "payload"))
		case "call":
			// NEW as a caller: it must send no more than OLD did and take all OLD took.
			out = append(out, check(kind, n, "request", a, b, true, section, n, "request"))
			out = append(out, check(kind, n, "response", a, b, false, section, n, "response"))
		}
	}
	return out
}

// check proves a ⊆ b at keys (or b ⊆ a when narrow: what NEW sends must be accepted
// where OLD's was).
func check(kind, name, part string, a, b *diffDesc, narrow bool, keys ...string) diffItem {
	sa, sb := schemaAt(a, keys), schemaAt(b, keys)
	na, nb := "OLD "+a.ID(), "NEW "+b.ID()
	if narrow {
		sa, sb, na, nb = sb, sa, nb, na
	}
	r := compat.Check(sa, sb, compat.WithNames(na, nb))
	it := diffItem{Kind: kind, Name: name, Part: part, Change: "same", Verdict: r.Verdict, Differences: r.Differences, Reason: r.Reason}
	if !sameJSON(inline(a.Doc, lookupDoc(a.Doc, keys), new(int)), inline(b.Doc, lookupDoc(b.Doc, keys), new(int))) {
		it.Change = "changed"
	}
	if r.Verdict == compat.Incompatible {
		if w, err := json.Marshal(r.Witness); err == nil {
			it.Witness = w
		}
	}
	if r.Verdict == compat.Compatible {
		it.Reason = ""
	}
	return it
}

func schemaAt(d *diffDesc, keys []string) compat.Schema {
	if lookupDoc(d.Doc, keys) == nil {
		return compat.Schema{Root: true}
	}
	p := ""
	for _, k := range keys {
		p += "/" + strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
	}
	return compat.Schema{Root: d.Doc, Pointer: p, Name: d.File}
}

func lookupDoc(doc any, keys []string) any {
	for _, k := range keys {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		doc = m[k]
	}
	return doc
}

// inline replaces the local $refs of v (descriptors are bundled: every $ref is local) by
// their targets, so that a change inside a shared definition shows as a change of every
// schema that uses it. It stops expanding after a bounded number of nodes (recursive
// or huge schemas), which still compares deterministically.
func inline(root, v any, budget *int) any {
	if *budget++; *budget > 100000 {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		if ref, ok := x["$ref"].(string); ok && strings.HasPrefix(ref, "#/") {
			var keys []string
			for _, t := range strings.Split(ref[2:], "/") {
				keys = append(keys, strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~"))
			}
			return inline(root, lookupDoc(root, keys), budget)
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = inline(root, e, budget)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = inline(root, e, budget)
		}
		return out
	}
	return v
}

// sameJSON compares two decoded JSON values.
func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func unionKeys[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]V{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// showMethod is one method of a published (bundled) descriptor, its schemas with their
// $refs inlined, as schema show prints it.
func showMethod(doc []byte, svc, ver, method string) ([]byte, error) {
	d, err := newDiffDesc(svc+"@"+ver+".json", doc)
	if err != nil {
		return nil, fmt.Errorf("%s@%s: %w", svc, ver, err)
	}
	m, ok := d.Methods[method]
	if !ok {
		names := make([]string, 0, len(d.Methods))
		for n := range d.Methods {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("%s@%s has no method %q (methods: %s)", svc, ver, method, strings.Join(names, ", "))
	}
	out := map[string]any{"method": svc + "." + method, "version": ver, "mode": m.Mode.String(), "channel": m.Channel}
	for _, part := range []string{"request", "response"} {
		if v := lookupDoc(d.Doc, []string{"methods", method, part}); v != nil {
			out[part] = inline(d.Doc, v, new(int))
		}
	}
	return json.Marshal(out)
}

// diffDesc is a published (bundled, self-contained) descriptor as diff and show read it:
// the one parse of package schema, and the decoded document that compat.Check resolves
// the $refs of a part against.
type diffDesc struct {
	*schema.Descriptor
	Doc any
}

func newDiffDesc(file string, doc []byte) (*diffDesc, error) {
	d, err := schema.Parse(file, doc)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, err
	}
	return &diffDesc{Descriptor: d, Doc: root}, nil
}

// endpoint is the mode and channel of a method, event or call ("" where none is declared).
type endpoint struct{ Mode, Channel string }

func (d *diffDesc) endpoints(kind string) map[string]endpoint {
	out := map[string]endpoint{}
	switch kind {
	case "method":
		for n, m := range d.Methods {
			out[n] = endpoint{m.Mode.String(), m.Channel}
		}
	case "event":
		for n, e := range d.Events {
			out[n] = endpoint{e.Mode.String(), e.Channel}
		}
	case "call":
		for n := range d.Calls {
			out[n] = endpoint{}
		}
	}
	return out
}
