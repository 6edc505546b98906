package jesus

import (
	"context"
	"sync"
)

// MultiCall is one call of a fan-out: a name to collect it by, the method, the request and
// a pointer to decode the response into (nil to discard it). Mode defaults to response.
// Target, when set, sends this call to that channel (e.g. one instance) instead of the
// client's resolver.
type MultiCall struct {
	Name   string
	Method string
	Mode   Mode
	Req    any
	Res    any
	Target string
}

// MultiLimit is how many calls of one Multi run at once.
const MultiLimit = 64

// Multi runs calls in parallel (at most MultiLimit at once) and returns each call's error by
// name (nil for success) once all have finished or ctx has ended. Responses are decoded
// into each call's Res. It is the fan-out of the original acomm MultiRequest.
func (c *Client) Multi(ctx context.Context, calls ...MultiCall) map[string]error {
	out := make(map[string]error, len(calls))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, MultiLimit)
	for _, mc := range calls {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			mu.Lock()
			out[mc.Name] = contextError(ctx.Err(), mc.Method)
			mu.Unlock()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			mode := mc.Mode
			if mode == 0 {
				mode = ModeResponse
			}
			cl := c
			if mc.Target != "" {
				cl = c.withResolver(newStaticTarget(mc.Target))
			}
			err := cl.Invoke(ctx, mc.Method, mode, mc.Req, mc.Res)
			mu.Lock()
			out[mc.Name] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// withResolver returns a view of c that shares its connections and interceptors but
// resolves with r.
func (c *Client) withResolver(r Resolver) *Client {
	v := &Client{name: c.name, o: clientOptions{common: c.o.common, resolver: r}, parent: c}
	v.unary = chainUnary(v.o.intercept, v.invoke)
	return v
}
