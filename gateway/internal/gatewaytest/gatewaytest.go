// Package gatewaytest holds what the tests of the gateway packages share: a context per
// test and an async tracker whose hook is a URL.
package gatewaytest

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/jesus-go/jesus/gateway/async"
)

// Ctx is a context for one test: it ends after a minute, or when the test does.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// HookTracker is an async.Tracker whose response hook is a URL: its own HTTP handler,
// served on a free loopback port until the test ends.
func HookTracker(t testing.TB) *async.Tracker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := async.NewTracker(async.TrackerConfig{Hook: "http://" + ln.Addr().String() + "/answers"})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	hs := &http.Server{Handler: tr.HTTPHandler()}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return tr
}
