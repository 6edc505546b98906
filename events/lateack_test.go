package events_test

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/events"
)

// TestLateAckRetriedAtTheSameInstance: when an ack comes back after the attempt's time-out
// (the event was handled; the ack was slow), the emitter tries the same instance again,
// whose duplicate suppression acks without running the handler a second time, rather than
// another instance of the service that would run it again. Nothing counts as rerouted.
func TestLateAckRetriedAtTheSameInstance(t *testing.T) {
	leakCheck(t)
	set := loadSchemas(t)
	reg, cache := startRegistry(t)
	var s seen
	held := make(chan struct{})
	startNodeVia(t, set, reg, cache, "billing", func(eps map[string]string) map[string]string {
		out := maps.Clone(eps)
		spec, addr, _ := strings.Cut(eps["domain"], "://")
		out["domain"] = spec + "://" + lateAckProxy(t, addr, held)
		return out
	}, handlerOf(&s, "billing"))
	startNode(t, set, reg, cache, "billing", true, handlerOf(&s, "billing"))
	waitFor(t, "two billings", func() bool { return len(cache.Instances("billing")) == 2 })
	orders := emitter(t, set, cache, "orders", events.WithAttemptTimeout(200*time.Millisecond))

	// Instances are picked in turn: within a few events one goes through the proxy.
	var ids []string
	for i := 0; i < 10 && !closed(held); i++ {
		res, err := events.Emit(ctxT(t), orders, "order.created", order(i))
		if err != nil {
			t.Fatalf("emit %d: %v", i, err)
		}
		ids = append(ids, res.ID)
	}
	waitFor(t, "an event through the proxy", func() bool { return closed(held) })
	waitFor(t, "every event handled", func() bool {
		for _, id := range ids {
			if s.runs("billing", id) == 0 {
				return false
			}
		}
		return true
	})
	if twice := s.twice("billing"); len(twice) != 0 {
		t.Fatalf("handled twice: %v (stats %+v)", twice, orders.Stats())
	}
	if st := orders.Stats(); st.Retries == 0 || st.Rerouted != 0 {
		t.Fatalf("the late ack was not retried at the same instance: %+v", st)
	}
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// lateAckProxy serves http on loopback in front of backend. It forwards every request;
// the reply to the first it holds back until the caller gives up on it, so that the event
// is handled and its ack comes too late. held is closed then.
func lateAckProxy(t *testing.T, backend string, held chan<- struct{}) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	client := &http.Client{Transport: &http.Transport{}}
	var first sync.Once
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		out, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, "http://"+backend+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = r.Header.Clone()
		resp, err := client.Do(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		reply, _ := io.ReadAll(resp.Body)
		late := false
		first.Do(func() { late = true })
		if late {
			select {
			case <-r.Context().Done(): // the attempt timed out and its connection closed
			case <-time.After(10 * time.Second):
			}
			close(held)
			return
		}
		maps.Copy(w.Header(), resp.Header)
		w.WriteHeader(resp.StatusCode)
		w.Write(reply)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		client.CloseIdleConnections()
	})
	return ln.Addr().String()
}
