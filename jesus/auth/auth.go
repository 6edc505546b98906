// Package auth verifies who calls a jesus server. With mutual TLS the caller's service
// name comes from its certificate (a SPIFFE URI SAN, spiffe://<trust-domain>/<service>,
// or a DNS SAN under a configured suffix); Meta.From must name the same service
// (unauthenticated otherwise), and a method's allow list from the descriptor says which
// services may call it (permission_denied otherwise). It is one jesus.Interceptor.
package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"slices"
	"strings"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
)

// Config says how callers are identified and what they may call.
type Config struct {
	// TrustDomain is the SPIFFE trust domain whose URI SANs name services, e.g.
	// "example.org" for spiffe://example.org/orders. Empty: URI SANs are not used.
	TrustDomain string
	// DNSSuffix, e.g. ".svc.example.org", makes a DNS SAN "orders.svc.example.org" name
	// the service "orders". Empty: DNS SANs are not used.
	DNSSuffix string
	// Allow maps "service.method" to the services that may call it; a method that is not
	// in the map may be called by any verified caller. AllowFrom builds it from a
	// descriptor.
	Allow map[string][]string
	// Plaintext lets callers without TLS through unverified, From taken on trust, as
	// long as the method has no allow list. Default: refused, unauthenticated.
	Plaintext bool
}

// AllowFrom returns the allow lists that d declares, keyed "service.method".
func AllowFrom(d *schema.Descriptor) map[string][]string {
	m := map[string][]string{}
	for name, meth := range d.Methods {
		if len(meth.Allow) > 0 {
			m[d.Service+"."+name] = slices.Clone(meth.Allow)
		}
	}
	return m
}

// Interceptor returns the server interceptor that enforces cfg. On a client it does
// nothing. It is a jesus.Admitter: a call is refused before its request is decoded, acked
// or run, so a refused ack call is never acked and never reaches the handler.
func Interceptor(cfg Config) jesus.Interceptor {
	return &verifier{cfg: cfg}
}

type verifier struct{ cfg Config }

// Admit implements jesus.Admitter: the server asks before it does anything for a call.
func (v *verifier) Admit(ctx context.Context, call *jesus.Invocation) error {
	return v.check(ctx, call)
}

// WrapUnary and WrapStream add nothing: Admit has checked the call.
func (v *verifier) WrapUnary(next jesus.UnaryFunc) jesus.UnaryFunc    { return next }
func (v *verifier) WrapStream(next jesus.StreamFunc) jesus.StreamFunc { return next }

// check verifies the caller of call and its permission.
func (v *verifier) check(ctx context.Context, call *jesus.Invocation) error {
	claimed, _, _ := strings.Cut(call.Meta.From, "@") // From may be name@version
	cs := channel.PeerTLS(ctx)
	var caller string
	switch {
	case cs != nil && len(cs.PeerCertificates) > 0:
		name, ok := v.Service(cs.PeerCertificates[0])
		if !ok {
			return &jesus.Error{Code: jesus.CodeUnauthenticated, Method: call.Method,
				Message: "the caller's certificate (" + describe(cs) + ") names no service" + v.expect()}
		}
		if claimed != name {
			return &jesus.Error{Code: jesus.CodeUnauthenticated, Method: call.Method,
				Message: "the caller says it is " + quote(claimed) + " (Meta.From) but its certificate names " + quote(name)}
		}
		caller = name
	case v.cfg.Plaintext:
		caller = ""
	default:
		return &jesus.Error{Code: jesus.CodeUnauthenticated, Method: call.Method,
			Message: "the caller from " + call.Peer + " presented no client certificate; this server verifies callers (use mutual TLS)"}
	}
	allow, limited := v.cfg.Allow[call.Method]
	if !limited {
		return nil
	}
	if caller == "" || !slices.Contains(allow, caller) {
		who := quote(caller)
		if caller == "" {
			who = "an unverified caller (" + quote(claimed) + " over plaintext)"
		}
		return &jesus.Error{Code: jesus.CodePermissionDenied, Method: call.Method,
			Message: who + " may not call " + call.Method + "; its descriptor allows " + strings.Join(allow, ", ")}
	}
	return nil
}

// Service returns the service that c names under cfg: the last path segment of a URI SAN
// spiffe://<TrustDomain>/..., else a DNS SAN with DNSSuffix cut off.
func (v *verifier) Service(c *x509.Certificate) (string, bool) {
	return ServiceOf(c, v.cfg.TrustDomain, v.cfg.DNSSuffix)
}

// ServiceOf returns the service that certificate c names: the last path segment of a
// URI SAN spiffe://<trustDomain>/<...>/<service>, else a DNS SAN "<service><dnsSuffix>".
// An empty trustDomain or dnsSuffix disables that kind of SAN.
func ServiceOf(c *x509.Certificate, trustDomain, dnsSuffix string) (string, bool) {
	if trustDomain != "" {
		for _, u := range c.URIs {
			if u.Scheme != "spiffe" || !strings.EqualFold(u.Host, trustDomain) {
				continue
			}
			p := strings.Trim(u.Path, "/")
			if i := strings.LastIndexByte(p, '/'); i >= 0 {
				p = p[i+1:]
			}
			if p != "" {
				return p, true
			}
		}
	}
	if dnsSuffix != "" {
		for _, d := range c.DNSNames {
			if name, ok := strings.CutSuffix(strings.ToLower(d), strings.ToLower(dnsSuffix)); ok && name != "" && !strings.Contains(name, ".") {
				return name, true
			}
		}
	}
	return "", false
}

func (v *verifier) expect() string {
	var w []string
	if v.cfg.TrustDomain != "" {
		w = append(w, "a URI SAN spiffe://"+v.cfg.TrustDomain+"/<service>")
	}
	if v.cfg.DNSSuffix != "" {
		w = append(w, "a DNS SAN <service>"+v.cfg.DNSSuffix)
	}
	if len(w) == 0 {
		return "; set Config.TrustDomain or Config.DNSSuffix"
	}
	return "; want " + strings.Join(w, " or ")
}

func describe(cs *tls.ConnectionState) string {
	c := cs.PeerCertificates[0]
	var sans []string
	for _, u := range c.URIs {
		sans = append(sans, u.String())
	}
	sans = append(sans, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		sans = append(sans, ip.String())
	}
	if len(sans) == 0 {
		return "subject " + c.Subject.String() + ", no SANs"
	}
	return "SANs " + strings.Join(sans, ", ")
}

func quote(s string) string { return "\"" + s + "\"" }
