package compat

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
)

// Desc is the view of a service descriptor that the descriptor-level checks
// need. Build it with ParseDesc or ParseSet.
type Desc struct {
	Service  string
	Version  string
	Channels map[string]bool
	Methods  map[string]Endpoint
	Events   map[string]Endpoint
	Listens  map[string]bool
	Calls    map[string]Endpoint // Mode is set only when the descriptor declares one
	// Doc is the whole decoded document: the root of local $refs.
	Doc any
	// File is the document's file name ("orders.json"); relative $refs
	// resolve against it.
	File string
	// Files holds the other documents of the set by file name.
	Files map[string]any
}

// Endpoint is the mode and channel of a method, event or call.
type Endpoint struct {
	Mode    string
	Channel string
	Allow   []string // methods: the services that may call it; empty: any
}

// ID is "service@version".
func (d Desc) ID() string { return d.Service + "@" + d.Version }

func (d Desc) schema(keys ...string) (Schema, bool) {
	v := lookup(d.Doc, keys)
	if v == nil {
		return Schema{Root: true}, false
	}
	p := ""
	for _, k := range keys {
		p += "/" + escapePtr(k)
	}
	return Schema{Root: d.Doc, Pointer: p, Name: d.File, Files: d.Files}, true
}

// ParseDesc decodes one service descriptor (self-contained, or bundled by
// the registry). Only the fields the checks use are read; validating the
// descriptor against its meta-schema is package schema's job.
func ParseDesc(data []byte) (Desc, error) {
	doc, err := decodeJSON(data)
	if err != nil {
		return Desc{}, fmt.Errorf("compat: descriptor: %w", err)
	}
	return descFrom(doc, "")
}

// ParseSet decodes a directory of schema files (file name → content). Files
// with a "service" field are descriptors; the others are shared documents
// that descriptors may reference ("common.defs.json#/$defs/X").
func ParseSet(files map[string][]byte) ([]Desc, error) {
	docs := make(map[string]any, len(files))
	names := make([]string, 0, len(files))
	for name, data := range files {
		doc, err := decodeJSON(data)
		if err != nil {
			return nil, fmt.Errorf("compat: %s: %w", name, err)
		}
		docs[name] = doc
		names = append(names, name)
	}
	sort.Strings(names)
	var out []Desc
	for _, name := range names {
		m, ok := docs[name].(map[string]any)
		if !ok || m["service"] == nil {
			continue
		}
		d, err := descFrom(m, name)
		if err != nil {
			return nil, fmt.Errorf("compat: %s: %w", name, err)
		}
		d.Files = docs
		out = append(out, d)
	}
	return out, nil
}

func descFrom(doc any, file string) (Desc, error) {
	m, ok := doc.(map[string]any)
	if !ok {
		return Desc{}, fmt.Errorf("compat: descriptor is not a JSON object")
	}
	d := Desc{Doc: doc, Channels: map[string]bool{}, Methods: map[string]Endpoint{},
		Events: map[string]Endpoint{}, Listens: map[string]bool{}, Calls: map[string]Endpoint{}}
	if d.Service, ok = m["service"].(string); !ok || d.Service == "" {
		return Desc{}, fmt.Errorf("compat: descriptor field \"service\" must be a non-empty string")
	}
	if d.Version, ok = m["version"].(string); !ok || d.Version == "" {
		return Desc{}, fmt.Errorf("compat: descriptor %q: field \"version\" must be a non-empty string", d.Service)
	}
	d.File = file
	if d.File == "" {
		d.File = path.Base(d.Service) + ".json"
	}
	if ch, ok := m["channels"].(map[string]any); ok {
		for k := range ch {
			d.Channels[k] = true
		}
	}
	for _, f := range []struct {
		field string
		into  map[string]Endpoint
	}{{"methods", d.Methods}, {"events", d.Events}, {"calls", d.Calls}} {
		raw, present := m[f.field]
		if !present {
			continue
		}
		entries, ok := raw.(map[string]any)
		if !ok {
			return Desc{}, fmt.Errorf("compat: descriptor %q: field %q must be an object", d.Service, f.field)
		}
		for name, v := range entries {
			e, ok := v.(map[string]any)
			if !ok {
				return Desc{}, fmt.Errorf("compat: descriptor %q: %s.%s must be an object", d.Service, f.field, name)
			}
			mode, _ := e["mode"].(string)
			channel, _ := e["channel"].(string)
			ep := Endpoint{Mode: mode, Channel: channel}
			if allow, ok := e["allow"].([]any); ok {
				for _, a := range allow {
					if s, ok := a.(string); ok {
						ep.Allow = append(ep.Allow, s)
					}
				}
			}
			f.into[name] = ep
		}
	}
	if raw, present := m["listens"]; present {
		entries, ok := raw.(map[string]any)
		if !ok {
			return Desc{}, fmt.Errorf("compat: descriptor %q: field \"listens\" must be an object", d.Service)
		}
		for name := range entries {
			d.Listens[name] = true
		}
	}
	return d, nil
}

// CheckCall checks one entry of the caller's "calls" against the receiver:
// the method exists and is offered on a channel, modes agree, the caller's
// request ⊆ the receiver's request, and the receiver's response (or stream
// item) ⊆ the response the caller expects.
func CheckCall(caller Desc, callKey string, receiver Desc, opts ...Option) Report {
	base := Item{Kind: KindCall, From: caller.ID(), To: receiver.ID(), Name: callKey}
	fail := func(part, reason string) Report {
		it := base
		it.Part, it.Verdict, it.Reason = part, Incompatible, reason
		return Report{Items: []Item{it}}
	}
	call, ok := caller.Calls[callKey]
	if !ok {
		return fail("call", fmt.Sprintf("%s does not declare a call to %s", caller.ID(), callKey))
	}
	svc, method, ok := strings.Cut(callKey, ".")
	if !ok || method == "" {
		return fail("call", fmt.Sprintf("call %q is not of the form service.method", callKey))
	}
	if svc != receiver.Service {
		return fail("call", fmt.Sprintf("receiver %s is not service %q", receiver.ID(), svc))
	}
	m, ok := receiver.Methods[method]
	if !ok {
		return fail("method", fmt.Sprintf("%s has no method %q", receiver.ID(), method))
	}
	if !receiver.Channels[m.Channel] {
		return fail("channel", fmt.Sprintf("%s offers method %q on channel %q, which it does not declare", receiver.ID(), method, m.Channel))
	}
	if call.Mode != "" && call.Mode != m.Mode {
		return fail("mode", fmt.Sprintf("caller uses mode %q, %s serves %q in mode %q", call.Mode, receiver.ID(), method, m.Mode))
	}
	if len(m.Allow) > 0 && !slices.Contains(m.Allow, caller.Service) {
		return fail("allow", fmt.Sprintf("%s allows %q to be called by %s only; %s is not allowed", receiver.ID(), method, strings.Join(m.Allow, ", "), caller.Service))
	}
	var rep Report
	callerReq, _ := caller.schema("calls", callKey, "request")
	recvReq, _ := receiver.schema("methods", method, "request")
	rep.Items = append(rep.Items, fromResult(base, "request",
		Check(callerReq, recvReq, append([]Option{WithNames("caller", receiver.ID())}, opts...)...)))
	callerRes, expects := caller.schema("calls", callKey, "response")
	switch m.Mode {
	case "response", "stream":
		part := "response"
		if m.Mode == "stream" {
			part = "stream item"
		}
		recvRes, _ := receiver.schema("methods", method, "response")
		rep.Items = append(rep.Items, fromResult(base, part,
			Check(recvRes, callerRes, append([]Option{WithNames("receiver", "the caller")}, opts...)...)))
	default:
		if expects {
			it := base
			it.Part, it.Verdict = "response", Incompatible
			it.Reason = fmt.Sprintf("%s serves %q in mode %q, which sends no response, but the caller expects one", receiver.ID(), method, m.Mode)
			rep.Items = append(rep.Items, it)
		}
	}
	return rep
}

// CheckEvent checks that every payload the emitter may send for event is
// accepted by the listener.
func CheckEvent(emitter Desc, event string, listener Desc, opts ...Option) Report {
	base := Item{Kind: KindEvent, From: emitter.ID(), To: listener.ID(), Name: event, Part: "payload"}
	ev, ok := emitter.Events[event]
	switch {
	case !ok:
		base.Verdict, base.Reason = Incompatible, fmt.Sprintf("%s does not emit %q", emitter.ID(), event)
		return Report{Items: []Item{base}}
	case !listener.Listens[event]:
		base.Verdict, base.Reason = Incompatible, fmt.Sprintf("%s does not listen to %q", listener.ID(), event)
		return Report{Items: []Item{base}}
	case !emitter.Channels[ev.Channel]:
		base.Part, base.Verdict = "channel", Incompatible
		base.Reason = fmt.Sprintf("%s emits %q on channel %q, which it does not declare", emitter.ID(), event, ev.Channel)
		return Report{Items: []Item{base}}
	}
	a, _ := emitter.schema("events", event, "payload")
	b, _ := listener.schema("listens", event, "payload")
	return Report{Items: []Item{fromResult(base, "payload",
		Check(a, b, append([]Option{WithNames("emitter", listener.ID())}, opts...)...))}}
}

// CheckAll checks a whole set of descriptors: every "calls" entry against
// every version of its receiver in the set, and every emitted event against
// every listener of it. An emitted event nobody listens to is fine; a
// listened event nobody emits is a note; a call whose receiver is not in the
// set cannot be proven.
func CheckAll(descs []Desc, opts ...Option) Report {
	sorted := append([]Desc(nil), descs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].ID() < sorted[j].ID() })
	bySvc := map[string][]Desc{}
	for _, d := range sorted {
		bySvc[d.Service] = append(bySvc[d.Service], d)
	}
	var rep Report
	for _, d := range sorted {
		for _, key := range sortedEndpoints(d.Calls) {
			svc, _, _ := strings.Cut(key, ".")
			recv := bySvc[svc]
			if len(recv) == 0 {
				rep.Items = append(rep.Items, Item{Kind: KindCall, From: d.ID(), Name: key, Part: "call", Verdict: Unproven,
					Reason: fmt.Sprintf("service %q is not in the set", svc)})
				continue
			}
			for _, r := range recv {
				rep.Items = append(rep.Items, CheckCall(d, key, r, opts...).Items...)
			}
		}
	}
	for _, l := range sorted {
		for _, ev := range sortedKeys(l.Listens) {
			found := false
			for _, e := range sorted {
				if _, ok := e.Events[ev]; ok {
					found = true
					rep.Items = append(rep.Items, CheckEvent(e, ev, l, opts...).Items...)
				}
			}
			if !found {
				rep.Items = append(rep.Items, Item{Kind: KindNote, From: l.ID(), Name: ev, Verdict: Compatible,
					Reason: fmt.Sprintf("%s listens to %q, which no service in the set emits", l.ID(), ev)})
			}
		}
	}
	return rep
}

func sortedEndpoints(m map[string]Endpoint) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
