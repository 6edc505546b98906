package seal

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
)

// GenerateKey returns a new X25519 private key.
func GenerateKey() (*ecdh.PrivateKey, error) { return ecdh.X25519().GenerateKey(rand.Reader) }

// MarshalKey returns priv as a PEM "PRIVATE KEY" block (PKCS #8), the form ReadKeyFile reads.
func MarshalKey(priv *ecdh.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ReadKeyFile reads an X25519 private key from a PEM file (PKCS #8, as `openssl genpkey
// -algorithm X25519` writes it).
func ReadKeyFile(path string) (*ecdh.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("seal: %s holds no PEM PRIVATE KEY block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("seal: %s: %w", path, err)
	}
	priv, ok := k.(*ecdh.PrivateKey)
	if !ok || priv.Curve() != ecdh.X25519() {
		return nil, fmt.Errorf("seal: %s holds a %T, want an X25519 key", path, k)
	}
	return priv, nil
}

// PublicKeyString is the published form of a public key: base64url without padding
// (43 characters), as it goes into a registered instance.
func PublicKeyString(pub *ecdh.PublicKey) string {
	return base64.RawURLEncoding.EncodeToString(pub.Bytes())
}

// ParsePublicKey reads the published form of a public key.
func ParsePublicKey(s string) (*ecdh.PublicKey, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != keyLen {
		return nil, fmt.Errorf("seal: public key %q is not 32 bytes of base64url", s)
	}
	return ecdh.X25519().NewPublicKey(b)
}
