package events_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/channel/httpchan"
	"github.com/jesus-go/jesus/events"
)

// TestStaleAddressTakenByAnotherServer: a billing instance dies and its registration
// lingers until its lease expires; meanwhile another program's server binds the port it
// had (on a busy host, ports are handed out again at once). Whatever that server answers
// is not an ack from billing: the emitter retries on the live instance, and every event
// reaches billing exactly once. Taking the stranger's success for an ack would count the
// event delivered while no billing instance ever saw it.
func TestStaleAddressTakenByAnotherServer(t *testing.T) {
	strangers := map[string]func(t *testing.T, addr string, hits *atomic.Int64){
		// A web server that answers 200 to anything.
		"web server": func(t *testing.T, addr string, hits *atomic.Int64) {
			serveHTTP(t, addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusOK)
			}))
		},
		// Another program's http channel whose handler acks every request with the
		// request's own meta, as an echo does: a 202 that names the emitter, not billing.
		"echoing channel": func(t *testing.T, addr string, hits *atomic.Int64) {
			serveChannel(t, addr, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
				hits.Add(1)
				w.Send(ctx, &channel.Envelope{Type: channel.TypeAck, Meta: req.Meta})
			}))
		},
	}
	for name, stranger := range strangers {
		t.Run(name, func(t *testing.T) {
			leakCheck(t)
			var s seen
			set, _, cache, victim := twoBillings(t, &s)
			waitInstances(t, cache, map[string]int{"billing": 2})
			orders := emitter(t, set, cache, "orders")
			addr := strings.TrimPrefix(victim.srv.Endpoints()["domain"], "http+json+gzip://")
			victim.srv.Close()
			var hits atomic.Int64
			stranger(t, addr, &hits)

			// The round robin sends one of the first two events to the dead instance's
			// address, which the emitter then skips for a while.
			const n = 6
			ids := make([]string, 0, n)
			for i := range n {
				res, err := events.Emit(ctxT(t), orders, "order.created", order(i))
				if err != nil {
					t.Fatalf("emit %d: %v", i, err)
				}
				ids = append(ids, res.ID)
			}
			st := orders.Stats()
			if hits.Load() == 0 {
				t.Fatal("no event went to the dead instance's address; the test proves nothing")
			}
			if st.Retries < uint64(hits.Load()) || st.Acked != n || st.Failed != 0 {
				t.Fatalf("the stranger answered %d event(s); want each retried and every event acked by billing: %+v", hits.Load(), st)
			}
			waitFor(t, "billing's handlers", func() bool { return s.count("billing") == n })
			for _, id := range ids {
				if r := s.runs("billing", id); r != 1 {
					t.Errorf("billing ran event %s %d times", id, r)
				}
			}
			t.Logf("the stranger answered %d event(s); emitter %+v", hits.Load(), st)
		})
	}
}

// serveHTTP serves h on addr with net/http until the test ends.
func serveHTTP(t *testing.T, addr string, h http.Handler) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	t.Cleanup(func() {
		hs.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
}

// serveChannel serves h on an http channel listener at addr until the test ends.
func serveChannel(t *testing.T, addr string, h channel.Handler) {
	t.Helper()
	ln, err := httpchan.New().Listen(ctxT(t), addr, channel.Config{})
	if err != nil {
		t.Fatal(err)
	}
	channeltest.Serve(t, ln, h)
}
