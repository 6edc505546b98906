package jesus

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jesus-go/jesus/channel"
)

// Meta travels with every message: correlation id, user, sender, wall-clock timestamps
// (Unix nanoseconds), channel, trace context and extra string metadata.
type Meta = channel.Meta

// Mode is a response mode: ModeNoResponse, ModeAck, ModeResponse or ModeStream.
type Mode = channel.Mode

// The four response modes.
const (
	ModeNoResponse = channel.ModeNoResponse
	ModeAck        = channel.ModeAck
	ModeResponse   = channel.ModeResponse
	ModeStream     = channel.ModeStream
)

// Msg is a message as a handler sees it before typed decoding (MsgFromContext): the
// method, the encoded data with its codec, the meta, and the protocol fields.
// Interceptors see an Invocation instead.
type Msg struct {
	Method   string
	Data     []byte // encoded by Codec; valid only during the handler
	Codec    string
	Meta     Meta
	Mode     Mode
	ID       uint64
	Deadline time.Time // zero when the caller set none
}

type ctxKey int

const (
	keyIncoming ctxKey = iota
	keyCorrID
	keyUserID
)

// MsgFromContext returns the incoming message of the handler whose context ctx is.
func MsgFromContext(ctx context.Context) (*Msg, bool) {
	m, ok := ctx.Value(keyIncoming).(*Msg)
	return m, ok
}

// WithCorrID returns a context whose outgoing calls and events carry corrid id. Without it,
// a call made inside a handler carries the incoming corrid, and a first call creates one.
func WithCorrID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, keyCorrID, id)
}

// WithUserID returns a context whose outgoing calls carry the user id.
func WithUserID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, keyUserID, id)
}

// CorrID returns the correlation id outgoing messages from ctx will carry, creating none.
func CorrID(ctx context.Context) string {
	if id, ok := ctx.Value(keyCorrID).(string); ok && id != "" {
		return id
	}
	if m, ok := MsgFromContext(ctx); ok {
		return m.Meta.CorrID
	}
	return ""
}

// OutgoingMeta builds the meta of a message sent from ctx: the corrid is passed on (or
// created), the user id is passed on, From names the sender, ReqIn is set.
func OutgoingMeta(ctx context.Context, from string) Meta {
	return outgoingMeta(ctx, from, "")
}

// outgoingMeta is OutgoingMeta with a corrid the caller chose ("" for ctx's or a new one).
func outgoingMeta(ctx context.Context, from, corrID string) Meta {
	m := Meta{From: from, ReqIn: time.Now().UnixNano(), CorrID: corrID}
	if m.CorrID == "" {
		m.CorrID = CorrID(ctx)
	}
	if m.CorrID == "" {
		m.CorrID = newCorrID()
	}
	in, hasIn := MsgFromContext(ctx)
	if hasIn {
		m.UserID = in.Meta.UserID
		m.Trace = in.Meta.Trace
	}
	if id, ok := ctx.Value(keyUserID).(string); ok {
		m.UserID = id // a handler may act for another user; the trace goes on all the same
	}
	return m
}

// corrIDs makes correlation ids: version-4 UUIDs that count up from a random start taken
// once per process, so that a message costs one string instead of a read of the system's
// random source. They are unique, not secret.
var corrIDs struct {
	once sync.Once
	hi   uint64
	lo   atomic.Uint64
}

func newCorrID() string {
	corrIDs.once.Do(func() {
		u := uuid.New()
		corrIDs.hi = binary.BigEndian.Uint64(u[:8])
		corrIDs.lo.Store(binary.BigEndian.Uint64(u[8:]))
	})
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[:8], corrIDs.hi)
	binary.BigEndian.PutUint64(u[8:], corrIDs.lo.Add(1))
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return u.String()
}
