package registrytest_test

import (
	"context"
	"testing"

	"github.com/jesus-go/jesus/schema/registry/registrytest"
)

// A test that needs etcd starts a real one; everything stops with the test.
func ExampleStart() {
	testPublish := func(t *testing.T) {
		_, reg, _ := registrytest.Start(t, 0)
		doc := []byte(`{"service":"orders","version":"1.0.0","channels":{"rpc":"tcp+msgpack"},"methods":{}}`)
		if err := reg.PublishDescriptor(context.Background(), "orders", "1.0.0", doc); err != nil {
			t.Fatal(err)
		}
	}
	_ = testPublish
}
