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
	Version    = 1
	keyLen     = 32 // X25519 public key
	nonceLen   = chacha20poly1305.NonceSizeX
	HeaderLen  = 1 + keyLen + nonceLen + 8 // version, ephemeral key, nonce, sent time
	Overhead   = HeaderLen + chacha20poly1305.Overhead
	hkdfInfo   = "jesus seal v1"
	maxAEADs   = 4096 // derived keys a receiver keeps, one per sender ephemeral key
	defaultAge = 10 * time.Minute
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
	aead    cipher.AEAD
	created time.Time
}

// NewSealer returns a Sealer to the receiver's public key.
func NewSealer(to *ecdh.PublicKey) (*Sealer, error) {
	if to == nil || to.Curve() != ecdh.X25519() {
		return nil, errors.New("seal: the receiver's key must be an X25519 public key")
	}
	return &Sealer{to: to, RotateEvery: defaultAge}, nil
}

// derive returns the AEAD of the key agreed between a private key and a public key; epk
// is the sender's ephemeral public key and rpk the receiver's.
func derive(priv *ecdh.PrivateKey, pub *ecdh.PublicKey, epk, rpk []byte) (cipher.AEAD, error) {
	secret, err := priv.ECDH(pub)
	if err != nil {
		return nil, ErrOpen // a low-order point: nothing can be opened with it
	}
	salt := make([]byte, 0, 2*keyLen)
	salt = append(append(salt, epk...), rpk...)
	key, err := hkdf.Key(sha256.New, secret, salt, hkdfInfo, chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	return chacha20poly1305.NewX(key)
}

func (s *Sealer) current(now time.Time) ([]byte, cipher.AEAD, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aead == nil || now.Sub(s.created) >= s.RotateEvery {
		eph, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, fmt.Errorf("seal: %w", err)
		}
		epk := eph.PublicKey().Bytes()
		aead, err := derive(eph, s.to, epk, s.to.Bytes())
		if err != nil {
			return nil, nil, err
		}
		s.epk, s.aead, s.created = epk, aead, now
	}
	return s.epk, s.aead, nil
}

// Seal appends the sealed form of plaintext to dst and returns it. aad is authenticated,
// not encrypted, and not carried: the receiver passes the same bytes to Open (e.g. the
// method and the caller, which the envelope carries in the clear).
func (s *Sealer) Seal(dst, plaintext, aad []byte) ([]byte, error) {
	now := time.Now()
	epk, aead, err := s.current(now)
	if err != nil {
		return dst, err
	}
	start := len(dst)
	dst = append(dst, Version)
	dst = append(dst, epk...)
	var nonce [nonceLen]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return dst[:start], fmt.Errorf("seal: %w", err)
	}
	dst = append(dst, nonce[:]...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(now.UnixNano()))
	ad := associated(dst[start:], aad)
	return aead.Seal(dst, nonce[:], plaintext, ad), nil
}

// associated is the AEAD's associated data: the header, then the caller's aad.
func associated(header, aad []byte) []byte {
	ad := make([]byte, 0, len(header)+len(aad))
	return append(append(ad, header...), aad...)
}
