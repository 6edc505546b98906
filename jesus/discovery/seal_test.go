package discovery_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/jesus-go/jesus/codec/seal"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
)

const vaultDescriptor = `{"service": "vault", "version": "1.0.0",
  "channels": {"rpc": "tcp+msgpack+zstd+seal"},
  "methods": {"put": {"mode": "response", "channel": "rpc", "request": {"type": "string"}, "response": {"type": "string"}}}}`

// TestSealedThroughRegistry: each instance publishes its own key; a client that finds
// instances through the registry seals every request to the one its route picked.
func TestSealedThroughRegistry(t *testing.T) {
	leakCheck(t)
	set, err := schema.LoadFS(fstest.MapFS{"vault.json": {Data: []byte(vaultDescriptor)}})
	if err != nil {
		t.Fatal(err)
	}
	d := set.Service("vault")
	reg, cache := startRegistry(t)
	var calls counts
	for _, name := range []string{"a", "b"} {
		priv, _ := seal.GenerateKey()
		o, _ := seal.NewOpener(priv)
		s := jesus.NewServer("vault", jesus.WithOpener(o))
		jesus.Handle(s, "put", func(ctx context.Context, v string) (string, error) { calls.add(name); return name + ":" + v, nil })
		if err := s.ListenDescriptor(ctxT(t), d, jesus.LoopbackAddrs(t.TempDir())); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if _, err := discovery.Register(ctxT(t), s, reg, d); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "two vault instances", func() bool { return len(cache.Instances("vault")) == 2 })
	for _, in := range cache.Instances("vault") {
		if _, err := seal.ParsePublicKey(in.SealKey); err != nil {
			t.Fatalf("instance %s: %v", in.ID, err)
		}
	}
	c := ordersClient(t, cache, func(d *discovery.Discovery) jesus.Option { return jesus.WithSealKeys(d.SealKeys()) })
	for i := 0; i < 20; i++ {
		if _, err := jesus.Call[string, string](ctxT(t), c, "vault.put", "secret"); err != nil {
			t.Fatal(err)
		}
	}
	if calls.get("a") == 0 || calls.get("b") == 0 {
		t.Fatalf("calls a=%d b=%d: both instances should have opened theirs", calls.get("a"), calls.get("b"))
	}
}
