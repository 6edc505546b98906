package jesus_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/framed"
	"github.com/jesus-go/jesus/jesus"
)

// gatedDial is the real tcp transport whose Dial waits for gate, as a dial to a far or
// slow host would.
type gatedDial struct {
	channel.Transport
	entered chan struct{}
	gate    chan struct{}
	dials   atomic.Int32
}

func (g *gatedDial) Dial(ctx context.Context, addr string, cfg channel.Config) (channel.Conn, error) {
	if g.dials.Add(1) == 1 {
		close(g.entered)
	}
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Transport.Dial(ctx, addr, cfg)
}

type byMethod map[string]jesus.Route

func (r byMethod) Resolve(_ context.Context, method string) (jesus.Route, error) {
	return r[method], nil
}

// A dial in progress holds up neither calls to other endpoints nor the client's other
// work; calls to the endpoint being dialled wait for that one dial.
func TestDialDoesNotHoldTheClient(t *testing.T) {
	leakCheck(t)
	s := jesus.NewServer("svc")
	jesus.Handle(s, "echo", func(ctx context.Context, in string) (string, error) { return in, nil })
	ctx := ctxT(t)
	tcp, err := s.Listen(ctx, "tcp+json://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unix, err := s.Listen(ctx, "unix+json://"+filepath.Join(t.TempDir(), "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g := &gatedDial{Transport: framed.TCP(), entered: make(chan struct{}), gate: make(chan struct{})}
	// svc.echo goes over unix; slow.echo, which the server does not have, over the gated
	// tcp dial, so that its calls show they reached the server once the gate opens.
	routes := byMethod{"svc.echo": jesus.NewRoute(unix, ""), "slow.echo": jesus.NewRoute(tcp, "")}
	c := jesus.NewClient("t", jesus.WithResolver(routes),
		jesus.WithTransports(channel.Set{"tcp": g, "unix": framed.Unix()}))
	defer c.Close()

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := jesus.Call[string, string](ctx, c, "slow.echo", "x")
			errs <- err
		}()
	}
	<-g.entered
	if got, err := jesus.Call[string, string](ctx, c, "svc.echo", "fast"); err != nil || got != "fast" {
		t.Fatalf("a call to another endpoint during a dial: %q, %v", got, err)
	}
	_ = c.Stats() // takes the client's lock too
	close(g.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if jesus.CodeOf(err) != jesus.CodeUnimplemented {
			t.Fatalf("call over the gated dial: %v, want the server's unimplemented", err)
		}
	}
	if n := g.dials.Load(); n != 1 {
		t.Fatalf("two calls to one endpoint dialled %d times, want once", n)
	}
}
