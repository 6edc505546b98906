package cli

import (
	"context"
	"fmt"
)

// openShared is open for commands that are useless on a private registry: listen joins as
// a service that emitters must find, so an embedded etcd only it can see would hear
// nothing. Without --etcd, JESUS_ETCD or a running jesus registry serve it says what to
// start instead (ExitUnavailable).
func (g *globals) openShared(ctx context.Context, verb string) (*conn, error) {
	if len(g.endpoints()) > 0 {
		return g.open(ctx)
	}
	reg, where := g.openRunning(ctx, g.dialTimeout)
	if reg == nil {
		return nil, withCode(ExitUnavailable, fmt.Errorf("%s: no registry to join (%s): start one with `jesus registry serve`, or give --etcd or JESUS_ETCD; a private embedded etcd would reach no other service", verb, where))
	}
	return &conn{reg: reg, where: where}, nil
}
