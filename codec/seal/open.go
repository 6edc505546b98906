package seal

import (
	"crypto/ecdh"
	"encoding/binary"
	"errors"
	"sync"
	"time"
)

// Opener opens payloads sealed to its private key and refuses replays. It is safe for
// concurrent use. Memory is bounded: it keeps at most MaxSeen message ids (each expires
// after Window) and a bounded cache of derived keys.
type Opener struct {
	priv *ecdh.PrivateKey
	pub  []byte
	// Window is how old (or how far ahead of this clock) a payload may be; payloads
	// inside it are remembered and opened once (default 1 min, the dedup window).
	Window time.Duration
	// MaxSeen bounds the remembered ids (default 1<<20). When it is full the oldest are
	// forgotten and every payload sent before them is refused as stale: a flood can make
	// late payloads fail, never a replay pass.
	MaxSeen int

	mu    sync.Mutex
	aeads map[[keyLen]byte]keys
	seen  map[[nonceLen]byte]struct{}
	order []seenID // ids in the order they were opened, for expiry
	head  int      // first live entry of order
	floor int64    // payloads sent before this (unix ns) are refused
}

type seenID struct {
	id   [nonceLen]byte
	sent int64
}

// NewOpener returns an Opener for priv, an X25519 private key.
func NewOpener(priv *ecdh.PrivateKey) (*Opener, error) {
	if priv == nil || priv.Curve() != ecdh.X25519() {
		return nil, errors.New("seal: the receiver's key must be an X25519 private key")
	}
	return &Opener{priv: priv, pub: priv.PublicKey().Bytes(), Window: time.Minute, MaxSeen: 1 << 20,
		aeads: map[[keyLen]byte]keys{}, seen: map[[nonceLen]byte]struct{}{}}, nil
}

// PublicKey is the key senders seal to.
func (o *Opener) PublicKey() *ecdh.PublicKey { return o.priv.PublicKey() }

// Open checks and decrypts sealed with aad, appending the plaintext to dst. It fails with
// ErrMalformed, ErrOpen (wrong key, a changed bit, other aad), ErrStale or ErrReplay; a
// payload that fails is not remembered, so a forgery cannot block the real one.
func (o *Opener) Open(dst, sealed, aad []byte) ([]byte, error) {
	out, _, err := o.OpenRequest(dst, sealed, aad)
	return out, err
}

// OpenRequest is Open that also returns the Reply that seals the answers to the payload,
// for the sender alone to open.
func (o *Opener) OpenRequest(dst, sealed, aad []byte) ([]byte, *Reply, error) {
	if len(sealed) < Overhead || sealed[0] != Version {
		return dst, nil, ErrMalformed
	}
	var epk [keyLen]byte
	copy(epk[:], sealed[1:])
	nonce := sealed[1+keyLen : 1+keyLen+nonceLen]
	sent := int64(binary.BigEndian.Uint64(sealed[1+keyLen+nonceLen:]))
	now := time.Now().UnixNano()
	if d := now - sent; d > int64(o.Window) || -d > int64(o.Window) {
		return dst, nil, ErrStale
	}
	k, err := o.keys(epk)
	if err != nil {
		return dst, nil, err
	}
	out, err := k.req.Open(dst, nonce, sealed[HeaderLen:], associated(sealed[:HeaderLen], aad, nil))
	if err != nil {
		return dst, nil, ErrOpen
	}
	if err := o.remember([nonceLen]byte(nonce), sent, now); err != nil {
		return dst, nil, err
	}
	return out, newReply(k.reply, sealed[:HeaderLen], aad), nil
}

func (o *Opener) keys(epk [keyLen]byte) (keys, error) {
	o.mu.Lock()
	a, ok := o.aeads[epk]
	o.mu.Unlock()
	if ok {
		return a, nil
	}
	pub, err := ecdh.X25519().NewPublicKey(epk[:])
	if err != nil {
		return keys{}, ErrMalformed
	}
	a, err = derive(o.priv, pub, epk[:], o.pub)
	if err != nil {
		return keys{}, err
	}
	o.mu.Lock()
	if len(o.aeads) >= maxAEADs {
		clear(o.aeads) // senders rotate rarely: a full cache means churn, start over
	}
	o.aeads[epk] = a
	o.mu.Unlock()
	return a, nil
}

// remember records id as opened; it fails when id was opened before.
func (o *Opener) remember(id [nonceLen]byte, sent, now int64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	// Forget what left the window, then what exceeds MaxSeen.
	for o.head < len(o.order) && (now-o.order[o.head].sent > int64(o.Window) || len(o.seen) >= o.MaxSeen) {
		e := o.order[o.head]
		if now-e.sent <= int64(o.Window) && e.sent > o.floor {
			o.floor = e.sent // forgotten early: older payloads can no longer be told from replays
		}
		delete(o.seen, e.id)
		o.order[o.head] = seenID{}
		o.head++
	}
	if o.head > len(o.order)/2 && o.head > 1024 {
		o.order = append(o.order[:0], o.order[o.head:]...)
		o.head = 0
	}
	if sent <= o.floor {
		return ErrStale
	}
	if _, dup := o.seen[id]; dup {
		return ErrReplay
	}
	o.seen[id] = struct{}{}
	o.order = append(o.order, seenID{id: id, sent: sent})
	return nil
}
