package framed

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jesus-go/jesus/channel"
)

// srvExchange is the ReplyWriter of one request.
type srvExchange struct {
	sc     *srvConn
	id     uint64
	mode   channel.Mode
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	credits  uint32
	creditCh chan struct{}
	terminal bool // noResponse: the handler refused the request (a TypeError reply)
	returned bool

	// A request with a timeout: a terminal reply after deadline goes out as
	// channel.LateReply (deadline_exceeded), the same on every transport.
	deadline time.Time
	timeout  time.Duration
	method   string
}

func (x *srvExchange) Peer() string { return x.sc.peer }

func (x *srvExchange) addCredit(n uint32) {
	if x.creditCh == nil {
		return // not a stream: credit means nothing
	}
	x.mu.Lock()
	if uint64(x.credits)+uint64(n) > 1<<32-1 {
		x.credits = 1<<32 - 1
	} else {
		x.credits += n
	}
	x.mu.Unlock()
	select {
	case x.creditCh <- struct{}{}:
	default:
	}
}

func (x *srvExchange) Send(ctx context.Context, r *channel.Envelope) error {
	if x.mode == channel.ModeNoResponse {
		if r.Type != channel.TypeError {
			return fmt.Errorf("framed: %s reply to noResponse request %d: %w", r.Type, x.id, channel.ErrNoReply)
		}
		// The handler refused the request: nothing goes on the wire, the request counts
		// as dropped, here and (through the credit) at the caller.
		x.mu.Lock()
		defer x.mu.Unlock()
		if x.terminal || x.returned {
			return fmt.Errorf("framed: Send after the exchange ended: %w", channel.ErrClosed)
		}
		x.terminal = true // for noResponse: dropped
		return nil
	}
	switch r.Type {
	case channel.TypeAck, channel.TypeResponse, channel.TypeEnd, channel.TypeError:
	case channel.TypeItem:
		if x.mode != channel.ModeStream {
			return fmt.Errorf("framed: Send of an item in %s mode (items need stream mode)", x.mode)
		}
	default:
		return fmt.Errorf("framed: Send needs ack, response, item, end or error, got %s", r.Type)
	}
	x.mu.Lock()
	if x.terminal || x.returned {
		x.mu.Unlock()
		return fmt.Errorf("framed: Send after the exchange ended: %w", channel.ErrClosed)
	}
	x.mu.Unlock()
	if x.ctx.Err() != nil {
		return x.gone()
	}
	if r.Type == channel.TypeItem {
		if err := x.takeCredit(ctx); err != nil {
			return err
		}
	}
	e := *r
	if r.Type.Terminal() && channel.IsLate(x.deadline) {
		channel.LateReply(&e, x.method, x.timeout, r.Meta.CorrID)
	}
	e.ID, e.Mode = x.id, x.mode
	b, err := appendFrame(&e, x.sc.ls.cfg.MaxMessage, x.sc.ls.t.where)
	if err != nil {
		if r.Type == channel.TypeItem {
			x.addCredit(1)
		}
		return err
	}
	if r.Type.Terminal() {
		x.mu.Lock()
		x.terminal = true
		x.mu.Unlock()
	}
	if r.Type == channel.TypeItem {
		// Items come in runs: the writer goroutine batches them into few writes.
		return x.sc.l.enqueue(b)
	}
	return x.sc.l.enqueueDirect(b)
}

// takeCredit blocks until the caller has granted room for one more item.
func (x *srvExchange) takeCredit(ctx context.Context) error {
	for {
		x.mu.Lock()
		if x.credits > 0 {
			x.credits--
			x.mu.Unlock()
			return nil
		}
		x.mu.Unlock()
		select {
		case <-x.creditCh:
		case <-ctx.Done():
			return ctx.Err()
		case <-x.ctx.Done():
			return x.gone()
		}
	}
}

func (x *srvExchange) gone() error {
	return fmt.Errorf("framed: exchange %d was cancelled by the caller, or its connection closed: %w", x.id, channel.ErrClosed)
}
