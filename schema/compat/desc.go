package compat

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/internal/ref"
)

// Checker checks service descriptors against each other and remembers what it
// did: each descriptor is bundled and decoded once, each schema compiled once
// into one shared validator, and each relation (a call or an event between two
// descriptors) proven once for as long as neither descriptor's content
// changes. A re-check after one descriptor changed therefore re-runs only the
// relations that involve it. The methods are safe for concurrent use; they
// run one at a time.
type Checker struct {
	mu   sync.Mutex
	opts []Option
	// docs are the decoded bundles under their file names in the validator.
	docs    map[string]any
	val     *validator
	regex   *regexCache
	pre     map[string]error
	loaded  map[string]*loadedDesc // by content key
	byPtr   map[*schema.Descriptor]*loadedDesc
	results map[string]cached // by relation key
	stale   int               // documents of forgotten descriptors still in docs
	seq     int
	ran     int
}

type loadedDesc struct {
	key  string // service@version#content-hash
	file string // the file name of its bundle among docs
	doc  any    // the decoded bundle
	err  error  // why it could not be bundled
}

type cached struct {
	keys  [2]string
	items []Item
}

// trueDoc names the document "true": the schema of a part a descriptor leaves
// out (a call that declares no response accepts any).
const trueDoc = "true.json"

// NewChecker returns a Checker whose checks use opts.
func NewChecker(opts ...Option) *Checker {
	k := &Checker{opts: opts}
	k.reset()
	return k
}

func (k *Checker) reset() {
	k.docs = map[string]any{trueDoc: true}
	k.val = newValidator(k.docs)
	k.val.byContent = map[string]*jsonschema.Schema{}
	k.regex = newRegexCache()
	k.pre = map[string]error{}
	k.loaded = map[string]*loadedDesc{}
	k.byPtr = map[*schema.Descriptor]*loadedDesc{}
	k.results = map[string]cached{}
}

// Checked returns how many relations the Checker has proven so far, not
// counting those it answered from what it remembered.
func (k *Checker) Checked() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.ran
}

// load bundles and decodes d once per content (a descriptor is immutable, so
// once per pointer too).
func (k *Checker) load(d *schema.Descriptor) *loadedDesc {
	if l, ok := k.byPtr[d]; ok {
		return l
	}
	l := k.loadContent(d)
	k.byPtr[d] = l
	return l
}

func (k *Checker) loadContent(d *schema.Descriptor) *loadedDesc {
	// A descriptor whose references all stay inside it is its own bundle.
	b, err := d.Raw, error(nil)
	doc, derr := decodeJSON(b)
	if derr != nil || externalRef(doc) {
		b, err = d.Bundle()
		doc = nil
	}
	sum := sha256.Sum256(b)
	key := d.ID() + "#" + hex.EncodeToString(sum[:12])
	if l, ok := k.loaded[key]; ok {
		return l
	}
	l := &loadedDesc{key: key}
	k.loaded[key] = l
	if err != nil {
		l.err = err
		return l
	}
	if doc == nil {
		if doc, err = decodeJSON(b); err != nil {
			l.err = err
			return l
		}
	}
	k.seq++
	l.file = fmt.Sprintf("d%d/%s@%s.json", k.seq, d.Service, d.Version)
	l.doc = doc
	k.docs[l.file] = doc
	return l
}

// part is one schema of a loaded descriptor, by JSON pointer; a part the
// descriptor leaves out is the schema true.
func (k *Checker) part(l *loadedDesc, keys ...string) node {
	p := ""
	for _, key := range keys {
		p += "/" + ref.EscapeToken(key)
	}
	if lookup(k.docs[l.file], keys) == nil {
		return node{file: trueDoc}
	}
	return node{file: l.file, ptr: p}
}

func (k *Checker) check(a, b node, opts ...Option) Result {
	o := defaultOptions()
	for _, opt := range append(append([]Option(nil), k.opts...), opts...) {
		opt.apply(&o)
	}
	c := newShared(k.docs, k.val, k.pre, o)
	c.compiled, c.regex = true, k.regex
	return c.top(a, b)
}

// remember returns a copy of the items of the relation key between a and b, computing
// them once from their loaded forms.
func (k *Checker) remember(key string, a, b *schema.Descriptor, f func(al, bl *loadedDesc) []Item) []Item {
	al, bl := k.load(a), k.load(b)
	full := key + "\x00" + al.key + "\x00" + bl.key
	if r, ok := k.results[full]; ok {
		return clone(r.items)
	}
	k.ran++
	items := f(al, bl)
	k.results[full] = cached{keys: [2]string{al.key, bl.key}, items: items}
	return clone(items)
}

// report runs f under the checker's lock.
func (k *Checker) report(f func() []Item) Report {
	k.mu.Lock()
	defer k.mu.Unlock()
	return Report{Items: f()}
}

// CheckCall checks one entry of the caller's "calls" against the receiver:
// the method exists and is offered on a channel it declares, the caller's
// request ⊆ the receiver's request, and the receiver's response (or stream
// item) ⊆ the response the caller expects.
func (k *Checker) CheckCall(caller *schema.Descriptor, callKey string, receiver *schema.Descriptor) Report {
	return k.report(func() []Item { return k.call(caller, callKey, receiver) })
}

func (k *Checker) call(caller *schema.Descriptor, callKey string, receiver *schema.Descriptor) []Item {
	return k.remember("call\x00"+callKey, caller, receiver, func(cl, rl *loadedDesc) []Item {
		base := Item{Kind: KindCall, From: caller.ID(), To: receiver.ID(), Name: callKey}
		fail := func(part, reason string) []Item {
			it := base
			it.Part, it.Verdict, it.Reason = part, Incompatible, reason
			return []Item{it}
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
		if _, ok := receiver.Channels[m.Channel]; !ok {
			return fail("channel", fmt.Sprintf("%s offers method %q on channel %q, which it does not declare", receiver.ID(), method, m.Channel))
		}
		if len(m.Allow) > 0 && !slices.Contains(m.Allow, caller.Service) {
			return fail("allow", fmt.Sprintf("%s allows %q to be called by %s only; %s is not allowed", receiver.ID(), method, strings.Join(m.Allow, ", "), caller.Service))
		}
		if err := firstErr(cl, rl); err != nil {
			return []Item{unloaded(base, "request", err)}
		}
		items := []Item{fromResult(base, "request", k.check(k.part(cl, "calls", callKey, "request"), k.part(rl, "methods", method, "request"),
			WithNames("caller", receiver.ID())))}
		switch m.Mode {
		case channel.ModeResponse, channel.ModeStream:
			part := "response"
			if m.Mode == channel.ModeStream {
				part = "stream item"
			}
			items = append(items, fromResult(base, part, k.check(k.part(rl, "methods", method, "response"), k.part(cl, "calls", callKey, "response"),
				WithNames("receiver", "the caller"))))
		default:
			if len(call.Response) > 0 {
				it := base
				it.Part, it.Verdict = "response", Incompatible
				it.Reason = fmt.Sprintf("%s serves %q in mode %q, which sends no response, but the caller expects one", receiver.ID(), method, m.Mode)
				items = append(items, it)
			}
		}
		return items
	})
}

// CheckEvent checks that every payload the emitter may send for event is
// accepted by the listener.
func (k *Checker) CheckEvent(emitter *schema.Descriptor, event string, listener *schema.Descriptor) Report {
	return k.report(func() []Item { return k.event(emitter, event, listener) })
}

func (k *Checker) event(emitter *schema.Descriptor, event string, listener *schema.Descriptor) []Item {
	return k.remember("event\x00"+event, emitter, listener, func(el, ll *loadedDesc) []Item {
		base := Item{Kind: KindEvent, From: emitter.ID(), To: listener.ID(), Name: event, Part: "payload"}
		ev, ok := emitter.Events[event]
		_, listens := listener.Listens[event]
		_, declared := emitter.Channels[ev.Channel]
		switch {
		case !ok:
			base.Verdict, base.Reason = Incompatible, fmt.Sprintf("%s does not emit %q", emitter.ID(), event)
			return []Item{base}
		case !listens:
			base.Verdict, base.Reason = Incompatible, fmt.Sprintf("%s does not listen to %q", listener.ID(), event)
			return []Item{base}
		case !declared:
			base.Part, base.Verdict = "channel", Incompatible
			base.Reason = fmt.Sprintf("%s emits %q on channel %q, which it does not declare", emitter.ID(), event, ev.Channel)
			return []Item{base}
		}
		if err := firstErr(el, ll); err != nil {
			return []Item{unloaded(base, "payload", err)}
		}
		return []Item{fromResult(base, "payload", k.check(k.part(el, "events", event, "payload"), k.part(ll, "listens", event, "payload"),
			WithNames("emitter", listener.ID())))}
	})
}

func firstErr(ls ...*loadedDesc) error {
	for _, l := range ls {
		if l.err != nil {
			return l.err
		}
	}
	return nil
}

func unloaded(base Item, part string, err error) Item {
	base.Part, base.Verdict, base.Reason = part, Unproven, fmt.Sprintf("the descriptors cannot be bundled: %v", err)
	return base
}

func clone(items []Item) []Item { return append([]Item(nil), items...) }

// CheckAll checks a whole set of descriptors: every "calls" entry against
// every version of its receiver in the set, and every emitted event against
// every listener of it. An emitted event nobody listens to is fine; a
// listened event nobody emits is a note; a call whose receiver is not in the
// set cannot be proven. What the Checker remembers of descriptors that are not
// in descs any more is dropped once it outweighs the rest.
func (k *Checker) CheckAll(descs []*schema.Descriptor) Report {
	k.mu.Lock()
	defer k.mu.Unlock()
	sorted := append([]*schema.Descriptor(nil), descs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].ID() < sorted[j].ID() })
	bySvc := map[string][]*schema.Descriptor{}
	emitters := map[string][]*schema.Descriptor{}
	for _, d := range sorted {
		bySvc[d.Service] = append(bySvc[d.Service], d)
		for _, ev := range sortedMapKeys(d.Events) {
			emitters[ev] = append(emitters[ev], d)
		}
	}
	var rep Report
	for _, d := range sorted {
		for _, key := range sortedMapKeys(d.Calls) {
			svc, _, _ := strings.Cut(key, ".")
			recv := bySvc[svc]
			if len(recv) == 0 {
				rep.Items = append(rep.Items, Item{Kind: KindCall, From: d.ID(), Name: key, Part: "call", Verdict: Unproven,
					Reason: fmt.Sprintf("service %q is not in the set", svc)})
				continue
			}
			for _, r := range recv {
				rep.Items = append(rep.Items, k.call(d, key, r)...)
			}
		}
	}
	for _, l := range sorted {
		for _, ev := range sortedMapKeys(l.Listens) {
			if len(emitters[ev]) == 0 {
				rep.Items = append(rep.Items, Item{Kind: KindNote, From: l.ID(), Name: ev, Verdict: Compatible,
					Reason: fmt.Sprintf("%s listens to %q, which no service in the set emits", l.ID(), ev)})
			}
			for _, e := range emitters[ev] {
				rep.Items = append(rep.Items, k.event(e, ev, l)...)
			}
		}
	}
	k.collect(sorted)
	return rep
}

// CheckPeers checks self against its peers (other services' descriptors,
// typically the latest live version of each): every call of self to a peer,
// every event self emits that a peer listens to, and every event self
// listens to that a peer emits. A call to a service that is not among the
// peers is not checked.
func (k *Checker) CheckPeers(self *schema.Descriptor, peers []*schema.Descriptor) Report {
	k.mu.Lock()
	defer k.mu.Unlock()
	sorted := append([]*schema.Descriptor(nil), peers...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].ID() < sorted[j].ID() })
	var rep Report
	for _, key := range sortedMapKeys(self.Calls) {
		svc, _, _ := strings.Cut(key, ".")
		for _, p := range sorted {
			if p.Service == svc && p.Service != self.Service {
				rep.Items = append(rep.Items, k.call(self, key, p)...)
			}
		}
	}
	for _, p := range sorted {
		if p.Service == self.Service {
			continue
		}
		for _, ev := range sortedMapKeys(self.Events) {
			if _, ok := p.Listens[ev]; ok {
				rep.Items = append(rep.Items, k.event(self, ev, p)...)
			}
		}
		for _, ev := range sortedMapKeys(self.Listens) {
			if _, ok := p.Events[ev]; ok {
				rep.Items = append(rep.Items, k.event(p, ev, self)...)
			}
		}
	}
	return rep
}

// collect forgets descriptors not in live and the relations that involve
// them. The compiled schemas of the shared validator cannot be dropped one by
// one: once the forgotten documents outnumber the live ones, the validator
// starts afresh (what was proven about live descriptors is kept).
func (k *Checker) collect(live []*schema.Descriptor) {
	keep := map[string]bool{}
	ptrs := map[*schema.Descriptor]bool{}
	for _, d := range live {
		keep[k.load(d).key] = true
		ptrs[d] = true
	}
	for key, l := range k.loaded {
		if !keep[key] {
			delete(k.loaded, key)
			if l.file != "" {
				k.stale++
			}
		}
	}
	for d := range k.byPtr {
		if !ptrs[d] {
			delete(k.byPtr, d)
		}
	}
	for key, r := range k.results {
		if !keep[r.keys[0]] || !keep[r.keys[1]] {
			delete(k.results, key)
		}
	}
	if k.stale <= len(keep)+16 {
		return
	}
	k.stale = 0
	k.docs = map[string]any{trueDoc: true}
	k.val = newValidator(k.docs)
	k.val.byContent = map[string]*jsonschema.Schema{}
	k.regex = newRegexCache()
	k.pre = map[string]error{}
	for _, l := range k.loaded {
		if l.file != "" {
			k.docs[l.file] = l.doc
		}
	}
}

func sortedMapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// CheckCall is Checker.CheckCall on a Checker of its own.
func CheckCall(caller *schema.Descriptor, callKey string, receiver *schema.Descriptor, opts ...Option) Report {
	return NewChecker(opts...).CheckCall(caller, callKey, receiver)
}

// CheckEvent is Checker.CheckEvent on a Checker of its own.
func CheckEvent(emitter *schema.Descriptor, event string, listener *schema.Descriptor, opts ...Option) Report {
	return NewChecker(opts...).CheckEvent(emitter, event, listener)
}

// CheckAll is Checker.CheckAll on a Checker of its own.
func CheckAll(descs []*schema.Descriptor, opts ...Option) Report {
	return NewChecker(opts...).CheckAll(descs)
}

// CheckPeers is Checker.CheckPeers on a Checker of its own.
func CheckPeers(self *schema.Descriptor, peers []*schema.Descriptor, opts ...Option) Report {
	return NewChecker(opts...).CheckPeers(self, peers)
}

// externalRef reports whether a document holds a $ref to another document.
func externalRef(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		if r, ok := t["$ref"].(string); ok && !strings.HasPrefix(r, "#") {
			return true
		}
		for _, e := range t {
			if externalRef(e) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if externalRef(e) {
				return true
			}
		}
	}
	return false
}
