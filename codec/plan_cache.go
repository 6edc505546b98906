package codec

import (
	"reflect"
	"sync"
)

// planCache holds one serializer's compiled plans: a *P per reflect.Type, or none for a
// type left to the library behind the plans. A plan is stored only whole: a type that
// fails anywhere in its tree leaves all of it to the library.
type planCache[P any] struct {
	plans sync.Map
	none  *P
}

// load returns the plan of t; known is false when t has not been compiled yet.
func (c *planCache[P]) load(t reflect.Type) (p *P, known bool) {
	v, ok := c.plans.Load(t)
	if !ok {
		return nil, false
	}
	if p = v.(*P); p == c.none {
		return nil, true
	}
	return p, true
}

// of returns the plan of t, or nil; the first time, compile builds it, noting in building
// every type it compiles on the way (compile returns nil when t has no plan).
func (c *planCache[P]) of(t reflect.Type, compile func(t reflect.Type, building map[reflect.Type]*P) *P) *P {
	if p, known := c.load(t); known {
		return p
	}
	building := map[reflect.Type]*P{}
	p := compile(t, building)
	if p == nil {
		c.plans.Store(t, c.none)
		return nil
	}
	for typ, bp := range building {
		c.plans.LoadOrStore(typ, bp)
	}
	return p
}

// known returns, during a compile, the plan of t when it is being built (a recursive
// type: filled in by the call that started it) or was compiled before; nil and true for a
// type without one.
func (c *planCache[P]) known(building map[reflect.Type]*P, t reflect.Type) (p *P, ok bool) {
	if p, ok := building[t]; ok {
		return p, true
	}
	return c.load(t)
}

// compoundPlanner builds the plans of the container kinds, each reporting whether t has one.
type compoundPlanner[P any] interface {
	slicePlan(p *P, t reflect.Type) bool
	mapPlan(p *P, t reflect.Type) bool
	pointerPlan(p *P, t reflect.Type) bool
	structPlan(p *P, t reflect.Type) bool
}

// compoundPlan builds the plan p of t, a slice, map, pointer or struct type with c; false
// for any other kind, or when c finds no plan.
func compoundPlan[P any](c compoundPlanner[P], p *P, t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Slice:
		return c.slicePlan(p, t)
	case reflect.Map:
		return c.mapPlan(p, t)
	case reflect.Pointer:
		return c.pointerPlan(p, t)
	case reflect.Struct:
		return c.structPlan(p, t)
	}
	return false
}
