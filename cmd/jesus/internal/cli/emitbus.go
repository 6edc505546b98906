package cli

import (
	"context"
	"fmt"

	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus/discovery"
)

// emitBus is the bus emit and bench emit EVENT through: the CLI as service jesus-cli with
// the event's declaration copied from the service that declares it (from names it; ""
// for the first). done releases what it opened.
func (g *globals) emitBus(ctx context.Context, verb, event, from string) (*events.Bus, emitterOf, func(), error) {
	var closers []func()
	done := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	fail := func(err error) (*events.Bus, emitterOf, func(), error) {
		done()
		return nil, emitterOf{}, nil, err
	}
	cn, err := g.open(ctx)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { cn.Close() })
	cache, err := cn.reg.Watch(ctx)
	if err != nil {
		return fail(registryErr(fmt.Errorf("%s: %w", verb, err)))
	}
	closers = append(closers, func() { cache.Close() })
	ems, err := emitters(cache, event)
	if err != nil {
		return fail(withCode(ExitFailure, fmt.Errorf("%s: %w", verb, err)))
	}
	em, err := pickEmitter(ems, event, from)
	if err != nil {
		return fail(err)
	}
	set, self, err := cliEmitter(em, event)
	if err != nil {
		return fail(withCode(ExitFailure, fmt.Errorf("%s: descriptor for %s: %w", verb, event, err)))
	}
	disc := discovery.New(cache)
	closers = append(closers, func() { disc.Close() })
	bus, err := events.New(self, set, disc, nil, nil)
	if err != nil {
		return fail(withCode(ExitFailure, fmt.Errorf("%s: %w", verb, err)))
	}
	closers = append(closers, func() { bus.Close() })
	return bus, em, done, nil
}
