package seal

import (
	"crypto/cipher"
	"time"
)

// Reply seals the receiver's answers to one sealed request and opens them at the sender:
// only the two ends of that request hold its key, and each reply is bound to the request
// (its nonce and associated data), so a reply to another request does not open. A Reply
// is safe for concurrent use.
type Reply struct {
	aead cipher.AEAD
	epk  []byte
	bind []byte // the request's aad, then its nonce
}

// newReply copies what it keeps of reqHeader and aad: the caller may reuse both.
func newReply(aead cipher.AEAD, reqHeader, aad []byte) *Reply {
	b := make([]byte, 0, keyLen+len(aad)+nonceLen)
	b = append(b, reqHeader[1:1+keyLen]...)
	b = append(append(b, aad...), reqHeader[1+keyLen:1+keyLen+nonceLen]...)
	return &Reply{aead: aead, epk: b[:keyLen:keyLen], bind: b[keyLen:]}
}

// Seal appends the sealed form of plaintext (same layout as a request, the request's
// ephemeral key in it) to dst.
func (r *Reply) Seal(dst, plaintext []byte) ([]byte, error) {
	return r.SealWith(dst, plaintext, nil)
}

// SealWith is Seal with extra associated data appended to the reply's: data the receiver
// rebuilds from what travels in the clear, e.g. the kind of reply and an error code, so
// that a sealed reply opens only as what it was sealed as.
func (r *Reply) SealWith(dst, plaintext, extra []byte) ([]byte, error) {
	start := len(dst)
	dst, err := appendHeader(dst, r.epk, time.Now())
	if err != nil {
		return dst, err
	}
	hdr := dst[start:]
	return r.aead.Seal(dst, hdr[1+keyLen:1+keyLen+nonceLen], plaintext, associated(hdr, r.bind, extra)), nil
}

// Open checks and decrypts a sealed reply, appending the plaintext to dst; it fails with
// ErrMalformed or ErrOpen.
func (r *Reply) Open(dst, sealed []byte) ([]byte, error) {
	return r.OpenWith(dst, sealed, nil)
}

// OpenWith opens what SealWith sealed with the same extra associated data.
func (r *Reply) OpenWith(dst, sealed, extra []byte) ([]byte, error) {
	if len(sealed) < Overhead || sealed[0] != Version {
		return dst, ErrMalformed
	}
	out, err := r.aead.Open(dst, sealed[1+keyLen:1+keyLen+nonceLen], sealed[HeaderLen:], associated(sealed[:HeaderLen], r.bind, extra))
	if err != nil {
		return dst, ErrOpen
	}
	return out, nil
}
