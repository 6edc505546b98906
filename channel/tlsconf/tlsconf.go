// Package tlsconf builds the TLS 1.3 configuration of a service from PEM files (a CA
// bundle, a certificate and its key) and keeps it current: a changed file is read again
// at the next handshake, so certificates rotate without a restart and without touching
// connections that are already up. One Source serves both roles of a service, the
// listener (server, mutual TLS when a CA is given) and the dialer (client).
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Files names the PEM files of a service.
type Files struct {
	// CA is a bundle of CA certificates. A listener requires every caller to present a
	// certificate that chains to it (mutual TLS); a dialer verifies servers against it.
	// Empty: a listener asks for no client certificate and a dialer uses the system roots.
	CA string
	// Cert and Key are the service's certificate chain and private key, presented to
	// callers by a listener and to servers by a dialer that is asked for one. A listener
	// needs them; a dialer without them cannot call a server that requires mutual TLS.
	Cert, Key string
	// CheckEvery is how often, at most, a handshake looks at the files' modification time
	// and size (default 1 s; negative: only Reload reads them again).
	CheckEvery time.Duration
}

// Source holds the current certificate and CA pool read from Files. It is safe for
// concurrent use; the configs it returns read the current material at each handshake.
type Source struct {
	files     Files
	cur       atomic.Pointer[material]
	lastCheck atomic.Int64 // unix nanoseconds of the last look at the files
	mu        sync.Mutex   // serializes reloads
	reloads   atomic.Uint64
	lastErr   atomic.Pointer[error]
}

// material is one consistent reading of the files.
type material struct {
	cert   *tls.Certificate // nil without Cert/Key
	pool   *x509.CertPool   // nil without CA
	stamps []stamp
	server *tls.Config // the listener's config for this reading
}

type stamp struct {
	mod  time.Time
	size int64
}

// Load reads f and returns a Source. Cert and Key go together; at least one of CA and
// Cert must be set.
func Load(f Files) (*Source, error) {
	if (f.Cert == "") != (f.Key == "") {
		return nil, fmt.Errorf("tlsconf: a certificate needs its key and a key its certificate (cert %q, key %q)", f.Cert, f.Key)
	}
	if f.CA == "" && f.Cert == "" {
		return nil, errors.New("tlsconf: no files: set a CA bundle, a certificate and key, or both")
	}
	if f.CheckEvery == 0 {
		f.CheckEvery = time.Second
	}
	s := &Source{files: f}
	m, err := s.read()
	if err != nil {
		return nil, err
	}
	s.cur.Store(m)
	s.lastCheck.Store(time.Now().UnixNano())
	return s, nil
}

func (s *Source) paths() []string {
	var ps []string
	for _, p := range []string{s.files.CA, s.files.Cert, s.files.Key} {
		if p != "" {
			ps = append(ps, p)
		}
	}
	return ps
}

func (s *Source) stamps() ([]stamp, error) {
	ps := s.paths()
	out := make([]stamp, len(ps))
	for i, p := range ps {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("tlsconf: %w", err)
		}
		out[i] = stamp{fi.ModTime(), fi.Size()}
	}
	return out, nil
}

func (s *Source) read() (*material, error) {
	st, err := s.stamps()
	if err != nil {
		return nil, err
	}
	m := &material{stamps: st}
	if s.files.Cert != "" {
		c, err := tls.LoadX509KeyPair(s.files.Cert, s.files.Key)
		if err != nil {
			return nil, fmt.Errorf("tlsconf: certificate %s with key %s: %w", s.files.Cert, s.files.Key, err)
		}
		m.cert = &c
	}
	if s.files.CA != "" {
		pem, err := os.ReadFile(s.files.CA)
		if err != nil {
			return nil, fmt.Errorf("tlsconf: %w", err)
		}
		m.pool = x509.NewCertPool()
		if !m.pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tlsconf: CA bundle %s holds no PEM certificate", s.files.CA)
		}
	}
	m.server = &tls.Config{MinVersion: tls.VersionTLS13}
	if m.cert != nil {
		m.server.Certificates = []tls.Certificate{*m.cert}
	}
	if m.pool != nil {
		m.server.ClientCAs = m.pool
		m.server.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return m, nil
}

// Reload reads the files again. On an error (a file missing, a certificate that does not
// match its key while a rotation is half written) the previous material stays in use and
// the error is returned; the next check tries again.
func (s *Source) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.read()
	if err != nil {
		s.lastErr.Store(&err)
		return err
	}
	s.cur.Store(m)
	s.reloads.Add(1)
	s.lastErr.Store(nil)
	return nil
}

// Reloads counts the successful reloads since Load.
func (s *Source) Reloads() uint64 { return s.reloads.Load() }

// Err is the error of the last failed reload, nil once a reload succeeded again.
func (s *Source) Err() error {
	if p := s.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// current returns the material, reading the files again first when they changed and
// CheckEvery has passed since the last look.
func (s *Source) current() *material {
	m := s.cur.Load()
	if s.files.CheckEvery < 0 {
		return m
	}
	now := time.Now().UnixNano()
	last := s.lastCheck.Load()
	if now-last < int64(s.files.CheckEvery) || !s.lastCheck.CompareAndSwap(last, now) {
		return m
	}
	st, err := s.stamps()
	if err == nil && sameStamps(st, m.stamps) {
		return m
	}
	_ = s.Reload() // on failure the old material serves; Err says why
	return s.cur.Load()
}

func sameStamps(a, b []stamp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].mod.Equal(b[i].mod) || a[i].size != b[i].size {
			return false
		}
	}
	return true
}

// Config returns a TLS 1.3 config for both roles, to put in channel.Config.TLS:
//   - as a listener it presents the current certificate and, with a CA, requires and
//     verifies a client certificate (mutual TLS) against the current CA pool;
//   - as a dialer it verifies the server against the current CA pool (the system roots
//     without one) and the server name, and presents the current certificate when asked.
//
// Certificates and CA bundles of both roles are read again when their files change and
// are used from the next handshake on; connections already up keep theirs.
//
// The dialer verifies in VerifyConnection, as crypto/tls would with RootCAs (same chain
// building, expiry, key usage and host name rules), because crypto/tls reads RootCAs
// only once. It verifies against ConnectionState.ServerName, which crypto/tls leaves
// empty for an IP address: the transports of package channel fill it in with the name
// they dial (channel.ClientTLS); used elsewhere, dial with a DNS name or the handshake
// fails for want of a name to verify.
func (s *Source) Config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		// Verified below against the current pool, exactly as crypto/tls would with
		// RootCAs; crypto/tls's own check would pin the pool read here.
		InsecureSkipVerify: true, //nolint:gosec // VerifyConnection verifies
		VerifyConnection:   s.verifyServer,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return s.current().server, nil
		},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if c := s.current().cert; c != nil {
				return c, nil
			}
			return &tls.Certificate{}, nil // none: the server decides whether that will do
		},
	}
}

// verifyServer is the dialer's check of the server's chain and name against the current
// CA pool: crypto/tls's verifyServerCertificate with the pool of this handshake.
func (s *Source) verifyServer(cs tls.ConnectionState) error {
	if cs.ServerName == "" {
		return errors.New("tlsconf: no server name to verify the server's certificate against (dial a host name, or through a channel transport)")
	}
	if len(cs.PeerCertificates) == 0 {
		return errors.New("tlsconf: the server presented no certificate")
	}
	opts := x509.VerifyOptions{
		Roots:         s.current().pool, // nil: the system roots
		DNSName:       cs.ServerName,
		Intermediates: x509.NewCertPool(),
	}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
	}
	return nil
}
