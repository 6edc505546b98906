package registrytest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jesus-go/jesus/schema/registry/registrytest"
)

func TestStart(t *testing.T) {
	_, reg, cache := registrytest.Start(t, 2*time.Second)
	doc := []byte(`{"service":"orders","version":"1.0.0","channels":{"rpc":"tcp+msgpack"},"methods":{}}`)
	if err := reg.PublishDescriptor(context.Background(), "orders", "1.0.0", doc); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if v, _, ok := cache.Latest("orders"); ok {
			t.Logf("cache has orders %s", v)
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the cache did not see the published descriptor")
		}
		time.Sleep(5 * time.Millisecond) // polling the cache: it has nothing to wait on
	}
}
