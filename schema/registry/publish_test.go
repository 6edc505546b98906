package registry_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/schema/registry"
)

func TestPublishFetchImmutable(t *testing.T) {
	checkGoroutines(t)
	e := startEtcd(t)
	r := open(t, e, 2*time.Second)
	ctx := context.Background()

	doc := descriptor("orders", "1.2.0", "first")
	if err := r.PublishDescriptor(ctx, "orders", "1.2.0", doc); err != nil {
		t.Fatal(err)
	}
	// The same content, formatted differently, is a no-op.
	spaced := []byte(strings.ReplaceAll(string(doc), ",", " ,\n "))
	if err := r.PublishDescriptor(ctx, "orders", "1.2.0", spaced); err != nil {
		t.Fatalf("republishing same content: %v", err)
	}
	err := r.PublishDescriptor(ctx, "orders", "1.2.0", descriptor("orders", "1.2.0", "changed"))
	if !errors.Is(err, registry.ErrVersionExists) || !strings.Contains(err.Error(), "orders@1.2.0") {
		t.Fatalf("different content: got %v, want ErrVersionExists naming orders@1.2.0", err)
	}
	got, err := r.Descriptor(ctx, "orders", "1.2.0")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(doc) {
		t.Fatalf("descriptor: got %s, want %s", got, doc)
	}
	if _, err := r.Descriptor(ctx, "orders", "9.9.9"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("missing version: got %v, want ErrNotFound", err)
	}

	for _, v := range []string{"1.10.0", "1.2.0-rc.1", "0.9.0", "1.2.0-alpha", "1.9.0"} {
		if err := r.PublishDescriptor(ctx, "orders", v, descriptor("orders", v, "")); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := r.Versions(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"0.9.0", "1.2.0-alpha", "1.2.0-rc.1", "1.2.0", "1.9.0", "1.10.0"}
	if !slices.Equal(vs, want) {
		t.Fatalf("versions: got %v, want %v", vs, want)
	}
	if err := r.PublishDescriptor(ctx, "billing", "0.1.0", descriptor("billing", "0.1.0", "")); err != nil {
		t.Fatal(err)
	}
	svcs, err := r.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(svcs, []string{"billing", "orders"}) {
		t.Fatalf("services: got %v", svcs)
	}
}

func TestPublishRejectsBadInput(t *testing.T) {
	e := startEtcd(t)
	r := open(t, e, 2*time.Second)
	ctx := context.Background()
	big := []byte(`{"service":"orders","version":"1.0.0","x":"` + strings.Repeat("a", 2<<20) + `"}`)
	cases := []struct {
		name, service, version string
		doc                    []byte
		want                   string
	}{
		{"bad service", "Orders", "1.0.0", descriptor("Orders", "1.0.0", ""), "service"},
		{"slash in service", "a/b", "1.0.0", descriptor("a/b", "1.0.0", ""), "service"},
		{"bad version", "orders", "1.0", descriptor("orders", "1.0", ""), "version"},
		{"leading zero", "orders", "01.0.0", descriptor("orders", "01.0.0", ""), "version"},
		{"not json", "orders", "1.0.0", []byte(`{"service":`), "not JSON"},
		{"not object", "orders", "1.0.0", []byte(`[1,2]`), "object"},
		{"name mismatch", "orders", "1.0.0", descriptor("billing", "1.0.0", ""), "billing"},
		{"version mismatch", "orders", "1.0.0", descriptor("orders", "1.0.1", ""), "1.0.1"},
		{"too big", "orders", "1.0.0", big, "MaxDescriptorSize"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := r.PublishDescriptor(ctx, tc.service, tc.version, tc.doc)
			if !errors.Is(err, registry.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrInvalid mentioning %q", err, tc.want)
			}
		})
	}
}

func TestPublishConcurrentExactlyOneWins(t *testing.T) {
	checkGoroutines(t)
	e := startEtcd(t)
	r := open(t, e, 2*time.Second)
	ctx := context.Background()
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = r.PublishDescriptor(ctx, "race", "1.0.0", descriptor("race", "1.0.0", fmt.Sprint("writer ", i)))
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("writers %d and %d both won", winner, i)
			}
			winner = i
		case !errors.Is(err, registry.ErrVersionExists):
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer won")
	}
	got, err := r.Descriptor(ctx, "race", "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), fmt.Sprint("writer ", winner)) {
		t.Fatalf("stored %s, winner was %d", got, winner)
	}
}

func TestOpenEtcdDown(t *testing.T) {
	checkGoroutines(t)
	e := startEtcd(t)
	eps := e.Endpoints()
	e.Close()
	start := time.Now()
	_, err := registry.Open(context.Background(), registry.Config{Endpoints: eps, DialTimeout: 500 * time.Millisecond})
	took := time.Since(start)
	t.Logf("Open against stopped etcd failed after %s: %v", took, err)
	if !errors.Is(err, registry.ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	if took > 2*time.Second {
		t.Fatalf("Open took %s with DialTimeout 500ms", took)
	}
}

// TestOpenSaysWhy: an etcd that cannot be reached is reported with the cause a TCP
// connection gives, not only the client's deadline.
func TestOpenSaysWhy(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = registry.Open(context.Background(), registry.Config{Endpoints: []string{"http://" + addr}, DialTimeout: 200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), addr+": connection refused") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("open of a closed port: %v", err)
	}
	t.Log(err)
}
