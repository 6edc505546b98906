package jesus

import (
	"context"

	"github.com/jesus-go/jesus/channel"
)

// Route is where one call goes: a channel spec with an address.
type Route struct {
	Spec     channel.Spec
	Instance string // registry instance id, when resolved through the registry

	name string // Spec.Name(), computed once by NewRoute and the resolvers of this package
}

// NewRoute returns the route to sp, with its channel name computed once: a caller that
// keeps routes (e.g. per endpoint) saves building the name on every request.
func NewRoute(sp channel.Spec, instance string) Route {
	return Route{Spec: sp, Instance: instance, name: sp.Name()}
}

// Resolver finds the route of a method ("service.method"). A registry-backed resolver
// balances across live instances; Failed tells it a route's connection failed before the
// request was sent, so that the next Resolve can skip it.
type Resolver interface {
	Resolve(ctx context.Context, method string) (Route, error)
}

// FailureReporter is implemented by resolvers that want to hear of failed routes.
type FailureReporter interface {
	Failed(r Route, err error)
}

// staticTarget sends every call to one channel; the spec is parsed once.
type staticTarget struct {
	route Route
	err   error
}

func newStaticTarget(spec string) *staticTarget {
	sp, err := channel.ParseSpec(spec)
	if err != nil {
		return &staticTarget{err: Errorf(CodeInvalidArgument, "%v", err)}
	}
	if sp.Addr == "" {
		return &staticTarget{err: Errorf(CodeInvalidArgument, "target %q has no address", spec)}
	}
	return &staticTarget{route: Route{Spec: sp, name: sp.Name()}}
}

func (t *staticTarget) Resolve(context.Context, string) (Route, error) { return t.route, t.err }
