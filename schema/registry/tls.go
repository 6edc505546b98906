package registry

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSFiles builds the client TLS config towards etcd from PEM files, as etcdctl's
// --cacert, --cert and --key do: caFile verifies etcd's certificate (empty: the system
// roots), certFile and keyFile are the client certificate for an etcd that requires one.
func TLSFiles(caFile, certFile, keyFile string) (*tls.Config, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("registry: TLS: a client certificate needs its key and a key its certificate (--cert and --key)")
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12} // etcd's own minimum; it negotiates 1.3
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("registry: TLS: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("registry: TLS: CA file %s holds no PEM certificate", caFile)
		}
	}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("registry: TLS: certificate %s with key %s: %w", certFile, keyFile, err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// securityHint says, for an error message, how the client meets etcd: a failed TLS
// handshake or login shows up as a timeout, so the message names what to check.
func (c *Config) securityHint() string {
	var s string
	if c.TLS != nil {
		s = "; over TLS: check the CA, client certificate and key"
	} else {
		for _, ep := range c.Endpoints {
			if len(ep) > 8 && ep[:8] == "https://" {
				s = "; https endpoint without a TLS config: give the CA (--cacert)"
				break
			}
		}
	}
	if c.Username != "" {
		s += "; as user " + c.Username + ": check the password"
	}
	return s
}
