package framed

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// One-way flow control (PROTOCOL.md §2.5). A server that speaks it grants each
// connection a window of credit for noResponse requests; a client sends one only when
// it holds the credit the request costs, and the server returns the credit, with how
// many of the requests it ran and dropped, once it is done with them. So a sender that
// outruns its receiver waits instead of being refused, and nothing is lost unnoticed.

const (
	// flagOneWay is the preface flags bit by which each side says it speaks one-way
	// flow control; it is on for a connection when both set it.
	flagOneWay = 0x01
	// oneWayUnit is the number of envelope bytes one unit of credit pays for beyond
	// the first: a request of n bytes costs 1 + n/oneWayUnit units, so that the window
	// bounds the receiver's memory as well as its count of queued requests.
	oneWayUnit = 4 << 10
	// creditDelay is how long a server lets returned credit accumulate below half the
	// window before it sends it anyway: credit costs about one frame per half window
	// under load, and an idle sender learns the fate of its last requests soon after.
	creditDelay = time.Millisecond
)

// oneWayCost is the credit a noResponse request whose envelope has n bytes costs
// under window w: never more than the whole window, so any request can be sent once
// nothing else is outstanding.
func oneWayCost(n, w int) int {
	return min(1+n/oneWayUnit, w)
}

// creditFrame encodes a one-way credit envelope: units of credit returned, and of the
// requests they paid for, how many the server finished (done) and of those dropped.
func creditFrame(units, done, dropped uint64) *[]byte {
	var d [2 * binary.MaxVarintLen64]byte
	data := binary.AppendUvarint(d[:0], done)
	data = binary.AppendUvarint(data, dropped)
	if done == 0 {
		data = nil // the announcement of the window carries no counts
	}
	e := channel.Envelope{Type: channel.TypeCredit, Mode: channel.ModeNoResponse, Credits: uint32(units), Data: data}
	b, _ := appendFrame(&e, 1<<30, "") // a few bytes: never over any limit
	return b
}

// parseCredit reads the counts of a one-way credit envelope.
func parseCredit(e *channel.Envelope) (done, dropped uint64, err error) {
	if len(e.Data) == 0 {
		return 0, 0, nil
	}
	done, n := binary.Uvarint(e.Data)
	if n <= 0 {
		return 0, 0, fmt.Errorf("one-way credit: bad count of finished requests")
	}
	dropped, m := binary.Uvarint(e.Data[n:])
	if m <= 0 || n+m != len(e.Data) || dropped > done {
		return 0, 0, fmt.Errorf("one-way credit: bad count of dropped requests")
	}
	return done, dropped, nil
}

// oneWayIn is the server's side of one connection's one-way window. Its fields are
// guarded by srvConn.owMu.
type oneWayIn struct {
	window  int  // units the client may have outstanding
	flow    bool // the client speaks one-way flow control: return credit to it
	used    int  // units of requests admitted and not finished
	units   uint64
	done    uint64 // requests finished since the last credit frame
	dropped uint64 // of those, not run
	timer   *time.Timer
	armed   bool
}

// owAdmit takes cost units of the window for a request about to run; false means the
// client sent more than its window (or does not speak flow control and outran us).
func (sc *srvConn) owAdmit(cost int) bool {
	sc.owMu.Lock()
	defer sc.owMu.Unlock()
	if sc.ow.used+cost > sc.ow.window {
		return false
	}
	sc.ow.used += cost
	return true
}

// owFinish records that a one-way request is done with: run (dropped false) or not.
// admitted says whether it held cost units of the window. The credit goes back to the
// client once half the window is waiting, else after creditDelay.
func (sc *srvConn) owFinish(cost int, admitted, dropped bool) {
	if dropped {
		sc.ls.owDropped.Add(1)
	}
	sc.owMu.Lock()
	if admitted {
		sc.ow.used -= cost
	}
	if !sc.ow.flow {
		sc.owMu.Unlock()
		return
	}
	sc.ow.units += uint64(cost)
	sc.ow.done++
	if dropped {
		sc.ow.dropped++
	}
	if sc.ow.units >= uint64(max(sc.ow.window/2, 1)) {
		sc.sendCreditLocked()
		sc.owMu.Unlock()
		return
	}
	if !sc.ow.armed {
		sc.ow.armed = true
		if sc.ow.timer == nil {
			sc.ow.timer = time.AfterFunc(creditDelay, sc.flushCredit)
		} else {
			sc.ow.timer.Reset(creditDelay)
		}
	}
	sc.owMu.Unlock()
}

// sendCreditLocked queues a credit frame for what is owed. The caller holds owMu, so
// that a flush before the connection drains cannot overtake a frame being queued.
// Queueing never blocks (the reader uses it too).
func (sc *srvConn) sendCreditLocked() {
	if sc.ow.done == 0 {
		return
	}
	sc.mu.Lock()
	lk := sc.l
	sc.mu.Unlock()
	if lk != nil {
		// On a dead or draining link the frame is not sent: the client counts the
		// requests lost.
		lk.enqueue(creditFrame(sc.ow.units, sc.ow.done, sc.ow.dropped))
	}
	sc.ow.units, sc.ow.done, sc.ow.dropped = 0, 0, 0
}

// flushCredit sends the credit waiting to go back, if any: on the timer, and before
// the connection is drained at shutdown.
func (sc *srvConn) flushCredit() {
	sc.owMu.Lock()
	sc.ow.armed = false
	sc.sendCreditLocked()
	sc.owMu.Unlock()
}

func (sc *srvConn) stopCreditTimer() {
	sc.owMu.Lock()
	if sc.ow.timer != nil {
		sc.ow.timer.Stop()
	}
	sc.ow.armed = false
	sc.owMu.Unlock()
}

// OneWayListenerStats counts the noResponse requests read on every connection.
func (l *listener) OneWayListenerStats() channel.OneWayListenerStats {
	return channel.OneWayListenerStats{Received: l.owReceived.Load(), Dropped: l.owDropped.Load()}
}

// oneWayOut is the client's side of one connection's one-way window, guarded by
// cliConn.owMu.
type oneWayOut struct {
	flow   bool   // the server speaks one-way flow control
	window int    // the server's window, from its first credit frame; 0 until then
	credit int    // units the client may still spend
	out    uint64 // requests sent and not yet confirmed
	dead   bool   // the connection died: what was out was counted lost
}

type takeResult int

const (
	taken  takeResult = iota
	noRoom            // wait for credit
	gone              // the connection is dead
)

// owTake spends the credit a request of n envelope bytes costs and counts it sent.
func (cc *cliConn) owTake(n int) (cost int, r takeResult) {
	cc.owMu.Lock()
	defer cc.owMu.Unlock()
	switch {
	case cc.ow.dead:
		return 0, gone
	case !cc.ow.flow:
		// An older server grants no credit and confirms nothing: its requests stay
		// outstanding and count as lost when the connection ends.
	case cc.ow.window == 0:
		return 0, noRoom
	default:
		cost = oneWayCost(n, cc.ow.window)
		if cc.ow.credit < cost {
			return 0, noRoom
		}
		cc.ow.credit -= cost
	}
	cc.ow.out++
	cc.c.owSent.Add(1)
	return cost, taken
}

// owUntake undoes owTake for a request that never reached the connection.
func (cc *cliConn) owUntake(cost int) {
	cc.owMu.Lock()
	if cc.ow.dead {
		cc.c.owLost.Add(^uint64(0)) // failAll counted it lost
	} else {
		cc.ow.out--
		cc.ow.credit += cost
	}
	cc.c.owSent.Add(^uint64(0))
	cc.owMu.Unlock()
}

// owCredit takes a one-way credit envelope from the server.
func (cc *cliConn) owCredit(e *channel.Envelope) error {
	done, dropped, err := parseCredit(e)
	if err != nil {
		return &protoError{msg: err.Error()}
	}
	cc.owMu.Lock()
	if !cc.ow.flow || done > cc.ow.out {
		out := cc.ow.out
		cc.owMu.Unlock()
		return &protoError{msg: fmt.Sprintf("one-way credit confirms %d requests, %d are outstanding", done, out)}
	}
	if cc.ow.window == 0 {
		cc.ow.window = max(int(e.Credits), 1)
	}
	cc.ow.credit = min(cc.ow.credit+int(e.Credits), 1<<30)
	cc.ow.out -= done
	cc.owMu.Unlock()
	cc.c.owDelivered.Add(done - dropped)
	cc.c.owDropped.Add(dropped)
	if e.Credits > 0 {
		cc.c.owBroadcast()
	}
	return nil
}

// owFail counts what was outstanding on a dead connection as lost.
func (cc *cliConn) owFail() {
	cc.owMu.Lock()
	cc.ow.dead = true
	lost := cc.ow.out
	cc.ow.out = 0
	cc.owMu.Unlock()
	cc.c.owLost.Add(lost)
	cc.c.owBroadcast()
}

// owWait returns a channel that is closed the next time one-way credit arrives on any
// connection of c, a connection dies, or c closes.
func (c *client) owWait() <-chan struct{} {
	c.owMu.Lock()
	defer c.owMu.Unlock()
	if c.owWake == nil {
		c.owWake = make(chan struct{})
	}
	return c.owWake
}

func (c *client) owBroadcast() {
	c.owMu.Lock()
	if c.owWake != nil {
		close(c.owWake)
		c.owWake = nil
	}
	c.owMu.Unlock()
}

// OneWayStats counts the noResponse requests c sent and what became of them.
func (c *client) OneWayStats() channel.OneWayStats {
	// Sent is read last, so that a request counted in the others is counted in it too.
	d, dr, l := c.owDelivered.Load(), c.owDropped.Load(), c.owLost.Load()
	return channel.OneWayStats{Sent: c.owSent.Load(), Delivered: d, Dropped: dr, Lost: l}
}

// openOneWay sends a noResponse request on a connection of the pool that has credit
// for it, waiting for credit until ctx ends.
func (c *client) openOneWay(ctx context.Context, req *channel.Envelope) error {
	e := *req
	e.Type, e.Credits = channel.TypeRequest, 0
	e.ID = c.nextID.Add(1)
	b, err := appendFrame(&e, c.cfg.MaxMessage, c.t.where)
	if err != nil {
		return err
	}
	n := len(*b) - frameHeaderLen
	failures := 0
	for {
		wake := c.owWait()
		if c.closedFlag.Load() {
			putBuf(b)
			return fmt.Errorf("framed: Open on a closed %s connection to %s: %w", c.t.name, c.addr, channel.ErrClosed)
		}
		start := int(c.next.Add(1))
		var dialErr error
		reachable := false
		for i := range c.slots {
			cc, err := c.slotConn(ctx, (start+i)%len(c.slots))
			if err != nil {
				dialErr = err
				continue
			}
			reachable = true
			cost, r := cc.owTake(n)
			if r != taken {
				continue
			}
			// The writer goroutine sends it: a sender does not wait for the system
			// call, and the requests of one or many senders share writes.
			wasEmpty, err := cc.l.push(b)
			if err == nil {
				if wasEmpty {
					cc.l.signal()
				}
				return nil // a write that fails later counts the request as lost
			}
			cc.owUntake(cost)
			if failures++; failures == 2 {
				return err
			}
			b, err = appendFrame(&e, c.cfg.MaxMessage, c.t.where) // push released b
			if err != nil {
				return err
			}
		}
		if !reachable {
			putBuf(b)
			return dialErr
		}
		select {
		case <-wake:
		case <-ctx.Done():
			putBuf(b)
			return ctx.Err()
		}
	}
}
