package discovery

import (
	"errors"
	"fmt"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema/registry"
)

// Want says which endpoint of an instance a Pick is for.
type Want struct {
	// Channel is the channel's name in the receiver's descriptor, e.g. "rpc". With
	// Transport empty only instances registering this channel take part.
	Channel string
	// Transport, when set, accepts any endpoint of this transport (Channel preferred):
	// events go over the emitter's channel kind to whichever endpoint the listener
	// offers for it.
	Transport string
	// Codec, when set, replaces the endpoint's codec (events use their own channel's).
	Codec string
	// Avoid is an endpoint ("transport://addr") not to pick unless nothing else is left:
	// the one that just failed.
	Avoid string
}

// Pick chooses a live instance of svc for w, round robin, skipping endpoints that failed
// in the last moments (Failed) unless every instance did. An instance whose lease is
// gone is not in the cache and never picked. The error is unavailable when svc has no
// live instance, incompatible when its live instances offer no endpoint for w.
func (d *Discovery) Pick(svc string, w Want) (jesus.Route, error) {
	checkBad := w.Avoid != "" || d.badMarks.Load() > 0
	var now time.Time
	if checkBad {
		now = time.Now()
	}
	usable := func(in registry.Instance, strict bool) (endpoint, bool) {
		ep, ok := d.endpointFor(in, w)
		if !ok {
			return endpoint{}, false
		}
		if strict && checkBad {
			if ep.key == w.Avoid {
				return ep, false
			}
			if until, bad := d.bad.Load(ep.key); bad && now.Before(until.(time.Time)) {
				return ep, false
			}
		}
		return ep, true
	}
	// Which instances offer w is endpointFor's to say (the cache is given no channel), so
	// that a failed pick knows from the list it went through whether svc had live
	// instances: the cache may change between two reads, and an instance that registers
	// right after a pick found none must not make it look as if the live instances offered
	// no such endpoint (incompatible, which nobody retries) rather than none being up yet.
	var seen int // instances the last pick looked at
	pick := func(strict bool) (registry.Instance, error) {
		seen = 0
		return d.cache.Pick(svc, "", func(in registry.Instance) bool {
			seen++
			_, ok := usable(in, strict)
			return !ok
		})
	}
	inst, err := pick(true)
	if err != nil && checkBad {
		// Every instance failed lately: try them anyway rather than give up early.
		inst, err = pick(false)
	}
	if err != nil {
		if n := seen; n > 0 {
			what := "channel " + w.Channel
			if w.Transport != "" {
				what = "a " + w.Transport + " endpoint"
			}
			return jesus.Route{}, &jesus.Error{Code: jesus.CodeIncompatible, Service: svc,
				Message: fmt.Sprintf("none of the %d live instances of %s offers %s", n, svc, what)}
		}
		e := jesus.Errorf(jesus.CodeUnavailable, "%w of %s in the registry", ErrNoInstance, svc)
		e.Service = svc
		return jesus.Route{}, e
	}
	ep, _ := usable(inst, false)
	return d.route(ep, w.Codec, inst.ID), nil
}

// Failed implements jesus.FailureReporter: the route's endpoint is skipped for a while.
// Expired marks are swept now and then, so the map follows the endpoints that failed lately.
func (d *Discovery) Failed(r jesus.Route, _ error) {
	now := time.Now()
	d.bad.Store(endpointKey(r.Spec), now.Add(d.hold))
	if d.badMarks.Add(1)%256 == 0 {
		d.bad.Range(func(k, v any) bool {
			if !now.Before(v.(time.Time)) {
				d.bad.CompareAndDelete(k, v)
			}
			return true
		})
	}
}

// endpointKey names an endpoint whatever the codec: "transport://addr".
func endpointKey(sp channel.Spec) string { return sp.Transport + "://" + sp.Addr }

// EndpointKey names the endpoint of a route whatever its codec, as Want.Avoid expects.
func EndpointKey(r jesus.Route) string { return endpointKey(r.Spec) }

// endpoint is a registered endpoint, parsed.
type endpoint struct {
	raw string
	sp  channel.Spec
	key string // endpointKey(sp)
	ok  bool   // it parsed and has an address
}

// maxMemo bounds the memos of parsed endpoints and routes.
const maxMemo = 4096

// parse parses a registered endpoint once: picks happen on every call.
func (d *Discovery) parse(raw string) endpoint {
	k := routeKey{raw: raw}
	if r, ok := d.routes.Load(k); ok {
		return r.(endpoint)
	}
	e := endpoint{raw: raw}
	if sp, err := channel.ParseSpec(raw); err == nil && sp.Addr != "" {
		e.sp, e.key, e.ok = sp, endpointKey(sp), true
	}
	d.memo(k, e)
	return e
}

// endpointFor returns the instance's endpoint for w: the channel w names or, with a
// transport, the channel of that name if it is of that transport, else the first by name.
func (d *Discovery) endpointFor(in registry.Instance, w Want) (endpoint, bool) {
	if raw, ok := in.Endpoints[w.Channel]; ok {
		if e := d.parse(raw); e.ok && (w.Transport == "" || e.sp.Transport == w.Transport) {
			return e, true
		}
	}
	if w.Transport == "" {
		return endpoint{}, false
	}
	var best endpoint
	bestName, found := "", false
	for n, raw := range in.Endpoints {
		if n == w.Channel || (found && n > bestName) {
			continue
		}
		if e := d.parse(raw); e.ok && e.sp.Transport == w.Transport {
			best, bestName, found = e, n, true
		}
	}
	return best, found
}

// routeKey names a memo entry: a parsed endpoint (codec "", route false) or the route to
// an endpoint with a codec.
type routeKey struct {
	raw, codec string
	route      bool
}

// route returns the route to ep with codec (or the endpoint's own) for instance inst,
// made once per endpoint and codec: building a channel name on every call would cost an
// allocation.
func (d *Discovery) route(ep endpoint, codec, inst string) jesus.Route {
	k := routeKey{raw: ep.raw, codec: codec, route: true}
	var r jesus.Route
	if x, ok := d.routes.Load(k); ok {
		r = x.(jesus.Route)
	} else {
		sp := ep.sp
		if codec != "" {
			sp.Codec = codec
		}
		r = jesus.NewRoute(sp, "")
		d.memo(k, r)
	}
	r.Instance = inst
	return r
}

func (d *Discovery) memo(k routeKey, v any) {
	if d.routesN.Add(1) > maxMemo {
		d.routes.Clear()
		d.routesN.Store(0)
	}
	d.routes.Store(k, v)
}

// ErrNoInstance is wrapped by a Pick's error when the service has no live instance:
// retrying cannot help until one registers (errors.Is).
var ErrNoInstance = errors.New("no live instance")
