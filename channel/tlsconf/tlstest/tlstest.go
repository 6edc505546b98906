// Package tlstest makes certificate authorities and certificates for tests at run time,
// so that nothing that expires is ever checked in. Certificates are ECDSA P-256, usable
// for both server and client authentication, and written as PEM files in a directory.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// CA is a certificate authority kept in memory.
type CA struct {
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
	PEM  []byte
}

var serial atomic.Int64

func newKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("tlstest: %v", err)) // the system's randomness failed
	}
	return k
}

// NewCA returns a self-signed CA named name, valid from an hour ago for a day.
func NewCA(name string) *CA {
	k := newKey()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		panic(fmt.Sprintf("tlstest: %v", err))
	}
	c, _ := x509.ParseCertificate(der)
	return &CA{Cert: c, key: k, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// Leaf describes a certificate to issue.
type Leaf struct {
	Name      string   // common name
	DNS       []string // DNS SANs
	IPs       []string // IP SANs, e.g. "127.0.0.1"
	URIs      []string // URI SANs, e.g. "spiffe://example.org/orders"
	NotBefore time.Time
	NotAfter  time.Time // zero: NotBefore + 24 h; set in the past for an expired certificate
}

// Localhost is a leaf for a service on loopback: DNS localhost, IPs 127.0.0.1 and ::1,
// and the SPIFFE ID spiffe://<trustDomain>/<service> when trustDomain is set.
func Localhost(service, trustDomain string) Leaf {
	l := Leaf{Name: service, DNS: []string{"localhost"}, IPs: []string{"127.0.0.1", "::1"}}
	if trustDomain != "" {
		l.URIs = []string{"spiffe://" + trustDomain + "/" + service}
	}
	return l
}

// Issue signs a certificate for l and returns its PEM chain and PEM key.
func (ca *CA) Issue(l Leaf) (certPEM, keyPEM []byte) {
	k := newKey()
	nb := l.NotBefore
	if nb.IsZero() {
		nb = time.Now().Add(-time.Hour)
	}
	na := l.NotAfter
	if na.IsZero() {
		na = nb.Add(25 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: l.Name},
		NotBefore:    nb,
		NotAfter:     na,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     l.DNS,
	}
	for _, ip := range l.IPs {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	for _, u := range l.URIs {
		pu, err := url.Parse(u)
		if err != nil {
			panic(fmt.Sprintf("tlstest: URI SAN %q: %v", u, err))
		}
		tmpl.URIs = append(tmpl.URIs, pu)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &k.PublicKey, ca.key)
	if err != nil {
		panic(fmt.Sprintf("tlstest: %v", err))
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		panic(fmt.Sprintf("tlstest: %v", err))
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
}

// Pair returns l issued by ca as a tls.Certificate.
func (ca *CA) Pair(l Leaf) tls.Certificate {
	c, k := ca.Issue(l)
	pair, err := tls.X509KeyPair(c, k)
	if err != nil {
		panic(fmt.Sprintf("tlstest: %v", err))
	}
	return pair
}

// Pool returns a pool holding ca's certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Paths names the files WriteFiles wrote.
type Paths struct{ CA, Cert, Key string }

// WriteFiles writes ca's certificate (ca.pem) and l issued by ca (cert.pem, key.pem) into
// dir. Each file is written to a temporary name and renamed, so a reader never sees half
// a file; the certificate and key are two files, though, and a reader may see one new and
// one old.
func (ca *CA) WriteFiles(dir string, l Leaf) (Paths, error) {
	c, k := ca.Issue(l)
	p := Paths{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "cert.pem"), Key: filepath.Join(dir, "key.pem")}
	for _, f := range []struct {
		path string
		data []byte
	}{{p.CA, ca.PEM}, {p.Key, k}, {p.Cert, c}} {
		tmp := f.path + ".tmp"
		if err := os.WriteFile(tmp, f.data, 0o600); err != nil {
			return p, err
		}
		if err := os.Rename(tmp, f.path); err != nil {
			return p, err
		}
	}
	return p, nil
}
