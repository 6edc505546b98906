package channel

import (
	"fmt"
	"time"
)

// Type is the kind of an envelope on the wire.
type Type uint8

// Envelope types. The numeric values are part of the wire format (PROTOCOL.md).
const (
	TypeRequest  Type = 1  // caller → receiver: a call in one of the four modes
	TypeResponse Type = 2  // receiver → caller: the result of a response-mode call
	TypeAck      Type = 3  // receiver → caller: the request was accepted (ack mode)
	TypeItem     Type = 4  // receiver → caller: one item of a stream
	TypeEnd      Type = 5  // receiver → caller: a stream ended normally
	TypeError    Type = 6  // receiver → caller: the call failed (ErrCode, ErrMessage)
	TypeCancel   Type = 7  // caller → receiver: the caller gave up on exchange ID
	TypePing     Type = 8  // either way: liveness probe (connection transports)
	TypePong     Type = 9  // either way: answer to a ping
	TypeCredit   Type = 10 // caller → receiver: permission to send Credits more stream items
)

var typeNames = [...]string{"", "request", "response", "ack", "item", "end", "error", "cancel", "ping", "pong", "credit"}

func (t Type) String() string {
	if int(t) < len(typeNames) && t != 0 {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Valid reports whether t is a known envelope type.
func (t Type) Valid() bool { return t >= TypeRequest && t <= TypeCredit }

// Mode is the response mode of a request.
type Mode uint8

// Response modes. The numeric values are part of the wire format (PROTOCOL.md).
const (
	ModeNoResponse Mode = 1 // fire and forget: nothing comes back
	ModeAck        Mode = 2 // one ack (or error) once the receiver accepted the request
	ModeResponse   Mode = 3 // one response (or error)
	ModeStream     Mode = 4 // 0..N items then end (or error)
)

var modeNames = [...]string{"", "noResponse", "ack", "response", "stream"}

func (m Mode) String() string {
	if int(m) < len(modeNames) && m != 0 {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m >= ModeNoResponse && m <= ModeStream }

// ParseMode parses the schema-file spelling of a mode ("noResponse", "ack", "response", "stream").
func ParseMode(s string) (Mode, error) {
	for i, n := range modeNames {
		if i > 0 && n == s {
			return Mode(i), nil
		}
	}
	return 0, fmt.Errorf("channel: unknown mode %q (want noResponse, ack, response or stream)", s)
}

// Meta travels with every envelope: who called, on behalf of whom, when, over which channel.
// Timestamps are wall-clock Unix nanoseconds; 0 means unset.
type Meta struct {
	CorrID  string // correlation id, created by the first caller, passed on by every hop
	UserID  string // the end user on whose behalf the call is made, if any
	From    string // the calling service (name, or name@version)
	ReqIn   int64  // when the request entered the caller (Unix ns)
	ReqOut  int64  // when the request left the caller (Unix ns)
	Channel string // the channel spec the message travelled on, e.g. "tcp+msgpack+zstd"
	Trace   string // W3C traceparent, if any
	// Extra holds further string metadata (e.g. an event id). Keys are case-sensitive
	// on framed transports and case-insensitive (canonicalised) over HTTP.
	Extra map[string]string
}

// Envelope is one message on the wire. Data holds the payload already serialized and
// compressed by the codec named in Codec; the channel layer never looks inside it.
//
// An Envelope returned by a transport may alias the transport's read buffer only until
// the next call that reads from the same exchange; callers that keep Data longer copy it.
type Envelope struct {
	Type    Type
	Mode    Mode          // on requests; echoed on replies where known
	ID      uint64        // exchange id, unique per connection (framed), per sender socket (udp)
	Method  string        // "service.method" or "method"; on requests
	Timeout time.Duration // relative deadline of a request; 0 = none. Carried with µs precision.
	Codec   string        // codec of Data, e.g. "msgpack+zstd"; "" = the channel's default
	Meta    Meta

	ErrCode    string // on TypeError: a code such as "invalid_argument"
	ErrMessage string // on TypeError: a human-readable message
	ErrDetails []byte // on TypeError: optional JSON document with details (e.g. failing pointers)

	Credits uint32 // on TypeCredit: how many more items the caller accepts

	Data []byte
}

// Reset clears e for reuse, keeping the capacity of nothing it does not own.
func (e *Envelope) Reset() { *e = Envelope{} }

// Terminal reports whether an envelope of this type ends an exchange for the caller.
func (t Type) Terminal() bool {
	switch t {
	case TypeError, TypeEnd, TypeResponse, TypeAck:
		return true
	}
	return false
}
