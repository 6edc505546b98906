package cli

import (
	"github.com/spf13/cobra"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/tlsconf"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
)

// callerTLS is how the CLI meets services that speak TLS or verify callers.
type callerTLS struct {
	caCert, cert, key, from string
}

func (c *callerTLS) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.caCert, "tls-cacert", "", "CA bundle (PEM) the service's certificate chains to; turns on TLS towards the service")
	f.StringVar(&c.cert, "tls-cert", "", "client certificate (PEM) for services that require mutual TLS")
	f.StringVar(&c.key, "tls-key", "", "key (PEM) of --tls-cert")
	f.StringVar(&c.from, "from", cliService, "the caller's service name (Meta.From); with verified callers, the one its certificate names")
}

// options returns the client options and the caller's name. Sealed channels use the keys
// the instances publish (disc; nil, as with --target: no sealing).
func (c *callerTLS) options(disc *discovery.Discovery) ([]jesus.Option, string, error) {
	from := c.from
	if from == "" {
		from = cliService // a command without the TLS flags (bench)
	}
	var opts []jesus.Option
	if disc != nil {
		opts = append(opts, jesus.WithSealKeys(disc.SealKeys()))
	}
	if c.caCert == "" && c.cert == "" && c.key == "" {
		return opts, from, nil
	}
	src, err := tlsconf.Load(tlsconf.Files{CA: c.caCert, Cert: c.cert, Key: c.key, CheckEvery: -1})
	if err != nil {
		return nil, "", usagef("%v (--tls-cacert, --tls-cert, --tls-key)", err)
	}
	// The flags turn TLS on towards the service, whether or not its spec says +tls.
	return append(opts, jesus.WithChannelConfig(channel.Config{TLS: src.Config()}), jesus.WithTLSEverywhere()), from, nil
}
