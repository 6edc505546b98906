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
	var open closers
	fail := func(err error) (*events.Bus, emitterOf, func(), error) {
		open.close()
		return nil, emitterOf{}, nil, err
	}
	cn, cache, err := g.watch(ctx, verb)
	if err != nil {
		return fail(err)
	}
	open.add(func() { cn.Close() }, func() { cache.Close() })
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
	open.add(func() { disc.Close() })
	bus, err := events.New(self, set, disc, nil, nil)
	if err != nil {
		return fail(withCode(ExitFailure, fmt.Errorf("%s: %w", verb, err)))
	}
	open.add(func() { bus.Close() })
	return bus, em, open.close, nil
}
