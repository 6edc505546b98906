package events_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/jesus-go/jesus/codec/seal"
	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
)

var sealedEvents = fstest.MapFS{
	"vault.json": {Data: []byte(`{"service": "vault", "version": "1.0.0", "channels": {"web": "http+json+seal"}, "methods": {},
  "listens": {"secret.put": {"payload": {"type": "object", "required": ["v"], "properties": {"v": {"type": "string"}}}}}}`)},
	"teller.json": {Data: []byte(`{"service": "teller", "version": "1.0.0", "channels": {"web": "http+json"}, "methods": {},
  "events": {"secret.put": {"channel": "web", "mode": "ack", "payload": {"type": "object", "required": ["v"], "properties": {"v": {"type": "string"}}}}}}`)},
}

// TestEventsOverASealedChannel: an emitter whose client knows the listeners' published
// keys (discovery's SealKeys) delivers an ack event to a listener that serves a sealed
// channel; only the listener's key opens it.
func TestEventsOverASealedChannel(t *testing.T) {
	leakCheck(t)
	set, err := schema.LoadFS(sealedEvents)
	must(t, err)
	reg, cache := startRegistry(t)
	ctx := ctxT(t)

	priv, err := seal.GenerateKey()
	must(t, err)
	opener, err := seal.NewOpener(priv)
	must(t, err)
	vault := set.Service("vault")
	srv := jesus.NewServer("vault", jesus.WithOpener(opener))
	defer srv.Close()
	lbus, err := events.New(vault, set, nil, nil, srv)
	must(t, err)
	defer lbus.Close()
	got := make(chan string, 1)
	must(t, events.On(lbus, "secret.put", func(ctx context.Context, ev events.Event[struct{ V string }]) error {
		got <- ev.Payload.V
		return nil
	}))
	must(t, srv.ListenDescriptor(ctx, vault, jesus.LoopbackAddrs(t.TempDir())))
	_, err = discovery.Register(ctx, srv, reg, vault)
	must(t, err)
	waitFor(t, "vault's instance", func() bool { return len(cache.Instances("vault")) == 1 })

	disc := newDisc(t, cache)
	cli := jesus.NewClient("teller", jesus.WithSealKeys(disc.SealKeys()))
	defer cli.Close()
	emitter, err := events.New(set.Service("teller"), set, disc, cli, nil)
	must(t, err)
	defer emitter.Close()
	res, err := events.Emit(ctx, emitter, "secret.put", map[string]string{"v": "42"})
	if err != nil || len(res.Acked) != 1 {
		t.Fatalf("emit: %+v %v", res, err)
	}
	if v := <-got; v != "42" {
		t.Fatalf("listener got %q", v)
	}

	// A client without the keys cannot send to the sealed channel.
	plain, err := events.New(set.Service("teller"), set, disc, nil, nil)
	must(t, err)
	defer plain.Close()
	if res, _ := events.Emit(ctx, plain, "secret.put", map[string]string{"v": "43"}); len(res.Acked) != 0 {
		t.Fatalf("emitted to a sealed channel without its key: %+v", res)
	}
}
