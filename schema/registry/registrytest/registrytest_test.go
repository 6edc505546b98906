package registrytest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/schema/registry/registrytest"
)

func TestStart(t *testing.T) {
	_, reg, cache := registrytest.Start(t, 2*time.Second)
	doc := []byte(`{"service":"orders","version":"1.0.0","channels":{"rpc":"tcp+msgpack"},"methods":{}}`)
	if err := reg.PublishDescriptor(context.Background(), "orders", "1.0.0", doc); err != nil {
		t.Fatal(err)
	}
	channeltest.Eventually(t, 10*time.Second, "the published descriptor in the cache", func() bool {
		_, _, ok := cache.Latest("orders")
		return ok
	})
}
