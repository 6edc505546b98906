package registry_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
)

func BenchmarkPick(b *testing.B) {
	e := startEtcd(b)
	r := open(b, e, 5*time.Second)
	c := watch(b, r)
	for i := range 8 {
		register(b, r, instance("orders", fmt.Sprint("i", i), fmt.Sprint("127.0.0.1:", 4100+i)))
	}
	channeltest.Eventually(b, 5*time.Second, "instances", func() bool { return len(c.Instances("orders")) == 8 })
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Pick("orders", "rpc", nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCacheLatest(b *testing.B) {
	e := startEtcd(b)
	r := open(b, e, 5*time.Second)
	if err := r.PublishDescriptor(context.Background(), "orders", "1.0.0", descriptor("orders", "1.0.0", "")); err != nil {
		b.Fatal(err)
	}
	c := watch(b, r)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, ok := c.Latest("orders"); !ok {
			b.Fatal("missing")
		}
	}
}

func BenchmarkPublishSameContent(b *testing.B) {
	e := startEtcd(b)
	r := open(b, e, 5*time.Second)
	ctx := context.Background()
	doc := descriptor("orders", "1.0.0", "")
	if err := r.PublishDescriptor(ctx, "orders", "1.0.0", doc); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := r.PublishDescriptor(ctx, "orders", "1.0.0", doc); err != nil {
			b.Fatal(err)
		}
	}
}
