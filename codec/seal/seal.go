// Package seal encrypts a message payload to the service that will receive it, end to
// end through any hop: X25519 key agreement, HKDF-SHA256 and XChaCha20-Poly1305, all
// from the standard library and golang.org/x/crypto. Only the holder of the receiver's
// private key can read the payload; routing data stays in the clear and is bound to the
// sealed bytes as associated data, and a receiver refuses a message it has already
// opened within its replay window. PROTOCOL.md, section "Sealed payloads", has the bytes.
package seal

import (
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
)

// Layout of a sealed payload (version 1).
const (
	Version       = 1
	keyLen        = 32 // X25519 public key
	nonceLen      = chacha20poly1305.NonceSizeX
	HeaderLen     = 1 + keyLen + nonceLen + 8 // version, ephemeral key, nonce, sent time
	Overhead      = HeaderLen + chacha20poly1305.Overhead
	hkdfInfo      = "jesus seal v1"
	hkdfReplyInfo = "jesus seal v1 reply"
	maxAEADs      = 4096 // derived keys a receiver keeps, one per sender ephemeral key
	defaultAge    = 10 * time.Minute
)

// Errors of opening. They wrap nothing from the cryptography on purpose: a receiver
// must not tell a forger which check failed beyond these.
var (
	ErrMalformed = errors.New("seal: not a sealed payload")
	ErrOpen      = errors.New("seal: cannot open: wrong key, or the payload or its associated data was altered")
	ErrReplay    = errors.New("seal: replayed: this payload was opened before")
	ErrStale     = errors.New("seal: outside the replay window")
)

// Sealer seals payloads to one receiver's public key. It is safe for concurrent use. It
// derives one key per ephemeral key pair, which it replaces every RotateEvery (10 min),
// so that a message costs symmetric encryption only.
type Sealer struct {
	to          *ecdh.PublicKey
	RotateEvery time.Duration

	mu      sync.Mutex
	epk     []byte
	keys    keys
	created time.Time
}

// NewSealer returns a Sealer to the receiver's public key.
func NewSealer(to *ecdh.PublicKey) (*Sealer, error) {
	if to == nil || to.Curve() != ecdh.X25519() {
		return nil, errors.New("seal: the receiver's key must be an X25519 public key")
	}
	return &Sealer{to: to, RotateEvery: defaultAge}, nil
}

// keys are the AEADs agreed between a sender's ephemeral key and a receiver's key: one
// for requests, one for the replies to them.
type keys struct{ req, reply cipher.AEAD }

// derive returns the keys agreed between a private key and a public key; epk is the
// sender's ephemeral public key and rpk the receiver's.
func derive(priv *ecdh.PrivateKey, pub *ecdh.PublicKey, epk, rpk []byte) (keys, error) {
	secret, err := priv.ECDH(pub)
	if err != nil {
		return keys{}, ErrOpen // a low-order point: nothing can be opened with it
	}
	salt := make([]byte, 0, 2*keyLen)
	salt = append(append(salt, epk...), rpk...)
	var k keys
	for _, d := range []struct {
		info string
		into *cipher.AEAD
	}{{hkdfInfo, &k.req}, {hkdfReplyInfo, &k.reply}} {
		key, err := hkdf.Key(sha256.New, secret, salt, d.info, chacha20poly1305.KeySize)
		if err != nil {
			return keys{}, err
		}
		if *d.into, err = chacha20poly1305.NewX(key); err != nil {
			return keys{}, err
		}
	}
	return k, nil
}

func (s *Sealer) current(now time.Time) ([]byte, keys, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys.req == nil || now.Sub(s.created) >= s.RotateEvery {
		eph, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			return nil, keys{}, fmt.Errorf("seal: %w", err)
		}
		epk := eph.PublicKey().Bytes()
		k, err := derive(eph, s.to, epk, s.to.Bytes())
		if err != nil {
			return nil, keys{}, err
		}
		s.epk, s.keys, s.created = epk, k, now
	}
	return s.epk, s.keys, nil
}

// Seal appends the sealed form of plaintext to dst and returns it. aad is authenticated,
// not encrypted, and not carried: the receiver passes the same bytes to Open (e.g. the
// method and the caller, which the envelope carries in the clear).
func (s *Sealer) Seal(dst, plaintext, aad []byte) ([]byte, error) {
	out, _, err := s.SealRequest(dst, plaintext, aad)
	return out, err
}

// SealRequest is Seal that also returns the Reply that opens the receiver's replies to
// this payload.
func (s *Sealer) SealRequest(dst, plaintext, aad []byte) ([]byte, *Reply, error) {
	now := time.Now()
	epk, k, err := s.current(now)
	if err != nil {
		return dst, nil, err
	}
	start := len(dst)
	dst, err = appendHeader(dst, epk, now)
	if err != nil {
		return dst, nil, err
	}
	hdr := dst[start:]
	out := k.req.Seal(dst, hdr[1+keyLen:1+keyLen+nonceLen], plaintext, associated(hdr, aad, nil))
	return out, newReply(k.reply, out[start:start+HeaderLen], aad), nil
}

// appendHeader appends version, epk, a new random nonce and the time.
func appendHeader(dst, epk []byte, now time.Time) ([]byte, error) {
	start := len(dst)
	dst = append(dst, Version)
	dst = append(dst, epk...)
	var nonce [nonceLen]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return dst[:start], fmt.Errorf("seal: %w", err)
	}
	dst = append(dst, nonce[:]...)
	return binary.BigEndian.AppendUint64(dst, uint64(now.UnixNano())), nil
}

// associated is the AEAD's associated data: the header, the caller's aad, and then for a
// reply the nonce of the request it answers and any extra data (Reply.bind, extra).
func associated(header, aad, more []byte) []byte {
	ad := make([]byte, 0, len(header)+len(aad)+len(more))
	return append(append(append(ad, header...), aad...), more...)
}
