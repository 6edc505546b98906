package httpchan

import (
	"fmt"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/jesus-go/jesus/channel"
)

// connCost is what an HTTP/1.1 server connection holds whatever it does (net/http's
// bufio reader and writer, its goroutine's stack, its state): charged to the listener's
// budget at accept.
const connCost = 24 << 10

// limitListener closes connections over Config.MaxConns, or over the budget, as soon as
// they are accepted: nothing is spent on them. Accepted ones are counted until net/http
// reports them closed or hijacked (trackConn). The raw connection is handed to net/http
// unwrapped, so that it keeps its optimisations (sendfile, CloseWrite).
type limitListener struct {
	net.Listener
	max     int64
	budget  *channel.Budget
	n       atomic.Int64
	refused atomic.Uint64
	log     func(msg string, args ...any)
}

func (ll *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if n := ll.n.Add(1); n > ll.max || !ll.budget.Acquire(connCost) {
			ll.n.Add(-1)
			c.Close()
			if r := ll.refused.Add(1); r&(r-1) == 0 { // the 1st, 2nd, 4th, 8th ...
				ll.log("httpchan: connection refused", "listener", ll.Addr().String(), "conns", n-1, "max_conns", ll.max,
					"budget_used", ll.budget.Used(), "budget", ll.budget.Limit(), "refused", r)
			}
			continue
		}
		return c, nil
	}
}

// trackConn is the http.Server's ConnState hook: a connection leaves the count and gives
// its cost back once closed or hijacked.
func (ll *limitListener) trackConn(_ net.Conn, st http.ConnState) {
	if st == http.StateClosed || st == http.StateHijacked {
		ll.n.Add(-1)
		ll.budget.Release(connCost)
	}
}

// bodyCharge is what a body is charged before it is read: its declared length, or for a
// chunked one the most it may be.
func bodyCharge(contentLength int64, limit int) int64 {
	if contentLength >= 0 {
		return contentLength
	}
	return int64(limit)
}

// chargeBody takes a request body's charge from the budget before it is read, or refuses
// the request (429 resource_exhausted, the connection closed: its body is not read) and
// reports false.
func (l *listener) chargeBody(w http.ResponseWriter, r *http.Request, mode channel.Mode, limit int) bool {
	want := bodyCharge(r.ContentLength, limit)
	if l.budget.Acquire(want) {
		return true
	}
	l.refuseOneWay(mode)
	w.Header().Set("Connection", "close")
	writeError(w, StatusFromCode(channel.CodeResourceExhausted), channel.CodeResourceExhausted, fmt.Sprintf(
		"httpchan: a body of up to %d bytes would exceed the listener's memory budget of %d bytes (%d in use); retry later",
		want, l.budget.Limit(), l.budget.Used()), nil)
	return false
}

// settleBody turns a body's charge into what its buffer holds (held bytes; a pooled buffer
// may be larger than the body) and returns the charge the request keeps until its handler
// is done.
func (l *listener) settleBody(held int, contentLength int64, limit int) int64 {
	want, h := bodyCharge(contentLength, limit), int64(held)
	switch {
	case h < want:
		l.budget.Release(want - h)
		return h
	case h > want && l.budget.Acquire(h-want):
		return h
	}
	return want
}
