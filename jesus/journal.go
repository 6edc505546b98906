package jesus

import (
	"context"
	"errors"

	"github.com/jesus-go/jesus/channel"
)

// A Journal makes "ack" mean "it will run": a server created WithJournal records every
// ack-mode request it accepts before it sends the ack, forgets it when the handler has
// returned, and replays what remains (requests accepted by a process that died) when it
// starts listening again. Package jesus/journal keeps one in a bbolt file.
type Journal interface {
	// Append records an accepted request and returns its sequence number. It returns
	// ErrDuplicate when a request with the same key (JournalEntry.Key) was accepted
	// before, within the journal's memory: the server then acks it again without running it.
	Append(e *JournalEntry) (uint64, error)
	// Remove forgets the request seq once its handler has returned (or panicked). A
	// request already gone (its handler committed its end with its effect, see
	// JournalFromContext) is no error, and costs no write.
	Remove(seq uint64) error
	// Pending returns the requests appended and not removed, oldest first.
	Pending() ([]JournalEntry, error)
}

// JournalEntry is one accepted one-way request as a Journal keeps it.
type JournalEntry struct {
	Seq    uint64 `json:"seq"`
	Key    string `json:"key,omitempty"` // the request's idempotency key, when it has one (see Journal)
	Method string `json:"method"`
	Codec  string `json:"codec"`
	Data   []byte `json:"data"`
	Meta   Meta   `json:"meta"`
}

// JournalFromContext returns the journal that keeps the request whose one-way handler runs
// with ctx, and the request's sequence number in it (JournalEntry.Seq); ok is false when
// the request is not journaled (noResponse mode, a server without a journal, a context not
// a one-way handler's). It is how a handler's effect and the end of its request become one
// transaction: package jesus/journal's Journal.Commit reads it.
func JournalFromContext(ctx context.Context) (j Journal, seq uint64, ok bool) {
	c, _ := ctx.Value(journalKey{}).(*call)
	if c == nil || c.jseq == 0 {
		return nil, 0, false
	}
	return c.srv.o.journal, c.jseq, true
}

// journalKey is the context key under which a one-way handler's context gives its call.
type journalKey struct{}

// ErrDuplicate is returned by Journal.Append for a request accepted before.
var ErrDuplicate = errors.New("jesus: journal: request accepted before")

// WithJournal makes the server record accepted ack-mode requests in j before acking them
// and replay those a previous process accepted but did not finish (see Journal). Replay
// starts with the first Listen, so register handlers before listening.
func WithJournal(j Journal) Option {
	return serverOption(func(s *serverOptions) { s.journal = j })
}

// replay runs the requests a previous process accepted and did not finish, one after the
// other, as ack-mode requests whose ack is not sent again.
func (s *Server) replay() {
	defer s.serveWG.Done()
	pending, err := s.o.journal.Pending()
	if err != nil {
		s.o.logger.Error("jesus: journal: cannot read pending requests", "err", err)
		return
	}
	for i := range pending {
		e := &pending[i]
		if s.hard.Err() != nil || s.draining.Load() {
			return // what remains stays in the journal for the next start
		}
		l := &listening{spec: channel.Spec{Codec: e.Codec}, specName: e.Meta.Channel, srv: s}
		env := &channel.Envelope{Type: channel.TypeRequest, Mode: ModeAck, Method: e.Method, Codec: e.Codec, Data: e.Data, Meta: e.Meta}
		l.serveExchange(s.hard, env, discardReplies{}, e.Seq)
		s.replayed.Add(1)
		if s.hard.Err() == nil && !s.draining.Load() {
			// Run, or refused for good (a method gone, a request its schema no longer
			// accepts: logged by the server): either way it is done with.
			_ = s.o.journal.Remove(e.Seq)
		}
	}
}

// discardReplies is the reply writer of a replayed request: its caller heard the ack long ago.
type discardReplies struct{}

func (discardReplies) Send(context.Context, *channel.Envelope) error { return nil }
func (discardReplies) Peer() string                                  { return "journal" }

// journalAccept records an ack-mode request before its ack; it reports false when the
// request must not run (a duplicate, acked again; or the journal failed, refused).
func (c *call) journalAccept(ctx context.Context) bool {
	j := c.srv.o.journal
	if j == nil || c.env.Mode != ModeAck {
		return true
	}
	if c.jseq != 0 {
		return true // a replay: recorded by the process that acked it
	}
	seq, err := j.Append(&JournalEntry{Method: c.env.Method, Codec: c.pl.Name(), Data: c.env.Data, Meta: c.msg.Meta})
	if errors.Is(err, ErrDuplicate) {
		c.srv.duplicates.Add(1)
		if err := c.w.Send(ctx, c.control(channel.TypeAck)); err != nil {
			c.srv.o.logger.Debug("jesus: ack not delivered", "method", c.env.Method, "err", err)
		}
		c.done = true
		return false
	}
	if err != nil {
		c.fail(Errorf(CodeUnavailable, "%s: journal: %v", c.env.Method, err))
		return false
	}
	c.jseq = seq
	return true
}

// journalDone forgets the request once its handler returned, unless the server stopped
// hard while it ran (Close, or Shutdown past its bound): cut short, it runs again at the
// next start.
func (c *call) journalDone() {
	if c.jseq == 0 || c.srv.hard.Err() != nil {
		return
	}
	if err := c.srv.o.journal.Remove(c.jseq); err != nil {
		c.srv.o.logger.Error("jesus: journal: cannot forget a finished request; it will run again at restart", "method", c.env.Method, "seq", c.jseq, "err", err)
	}
}
