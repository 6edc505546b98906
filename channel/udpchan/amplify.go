package udpchan

import (
	"unicode/utf8"

	"github.com/jesus-go/jesus/channel"
)

// amplification bounds every reply datagram (a handler's ack or error, an error the
// transport sends on its own, a cached reply re-sent to a duplicate) to this many times
// the size of the request datagram it answers, so that a listener cannot be used to
// reflect a larger flood at a spoofed source address.
const amplification = 3

// bounded returns reply (an encoded ack or error) cut down to at most amplification times
// reqSize bytes: an error keeps its code (at most 64 bytes) and as much of its message as
// fits, ending in " [truncated]", then its code alone; an ack goes bare (type, id, mode).
// It returns nil when not even that fits (nothing is sent), and whether it changed reply.
func bounded(reply []byte, reqSize int) (out []byte, cut bool) {
	bound := amplification * reqSize
	if len(reply) <= bound {
		return reply, false
	}
	var r channel.Envelope
	if channel.ParseEnvelope(reply, &r) != nil {
		return nil, true
	}
	m := channel.Envelope{Type: r.Type, ID: r.ID, Mode: r.Mode}
	if r.Type == channel.TypeError {
		m.ErrCode = r.ErrCode
		if len(m.ErrCode) > 64 {
			m.ErrCode = m.ErrCode[:64]
		}
		m.ErrMessage = r.ErrMessage
	}
	if b := fitMessage(&m, bound); b != nil {
		return b, true
	}
	return nil, true
}

// fitMessage encodes m with its ErrMessage shortened (marked " [truncated]") or dropped so
// that it takes at most limit bytes; nil when even without a message it does not fit.
func fitMessage(m *channel.Envelope, limit int) []byte {
	b := channel.AppendEnvelope(nil, m)
	if len(b) <= limit {
		return b
	}
	const mark = " [truncated]"
	if over := len(b) - limit; m.ErrMessage != "" && len(m.ErrMessage)-over-len(mark) > 0 {
		keep := len(m.ErrMessage) - over - len(mark)
		for keep > 0 && !utf8.RuneStart(m.ErrMessage[keep]) {
			keep--
		}
		m.ErrMessage = m.ErrMessage[:keep] + mark
		if b = channel.AppendEnvelope(b[:0], m); len(b) <= limit {
			return b
		}
	}
	m.ErrMessage = ""
	if b = channel.AppendEnvelope(b[:0], m); len(b) <= limit {
		return b
	}
	return nil
}
