package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jesus-go/jesus/schema/registry"
	"github.com/jesus-go/jesus/schema/registry/embedded"
	"github.com/spf13/cobra"
)

const defaultDataDirHelp = `$XDG_CACHE_HOME/jesus (~/.cache/jesus)`

// endpointFile, in the data directory, holds the client URL of a running
// "jesus registry serve", so that other commands use that etcd instead of starting one.
const endpointFile = "endpoint"

// globals are the flags every command shares.
type globals struct {
	env         *Env
	etcd        string
	dataDir     string
	dialTimeout time.Duration

	// etcd security, as etcdctl spells it
	caCert, cert, key, user string
}

func (g *globals) bind(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&g.etcd, "etcd", "", "etcd endpoints, comma separated (default $JESUS_ETCD; none: embedded etcd in --data-dir)")
	f.StringVar(&g.dataDir, "data-dir", "", "data directory of the embedded etcd (default $JESUS_DATA, else "+defaultDataDirHelp+")")
	f.DurationVar(&g.dialTimeout, "dial-timeout", registry.DefaultDialTimeout, "how long etcd has to answer before a command gives up")
	f.StringVar(&g.caCert, "cacert", "", "CA bundle (PEM) that signed etcd's certificate, for https endpoints")
	f.StringVar(&g.cert, "cert", "", "client certificate (PEM) for an etcd that requires one")
	f.StringVar(&g.key, "key", "", "key (PEM) of --cert")
	f.StringVar(&g.user, "user", "", "etcd user as name:password (default $JESUS_ETCD_USER)")
}

// security fills the TLS and auth fields of cfg from the flags.
func (g *globals) security(cfg *registry.Config) error {
	if g.caCert != "" || g.cert != "" || g.key != "" {
		t, err := registry.TLSFiles(g.caCert, g.cert, g.key)
		if err != nil {
			return usagef("%v", err)
		}
		cfg.TLS = t
	}
	u := g.user
	if u == "" {
		u = g.env.getenv("JESUS_ETCD_USER")
	}
	if u != "" {
		name, pw, ok := strings.Cut(u, ":")
		if !ok || name == "" {
			return usagef("--user wants name:password")
		}
		cfg.Username, cfg.Password = name, pw
	}
	return nil
}

func (g *globals) endpoints() []string {
	s := g.etcd
	if s == "" {
		s = g.env.getenv("JESUS_ETCD")
	}
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			if !strings.Contains(e, "://") {
				e = "http://" + e
			}
			out = append(out, e)
		}
	}
	return out
}

func (g *globals) dir() (string, error) {
	if g.dataDir != "" {
		return g.dataDir, nil
	}
	if d := g.env.getenv("JESUS_DATA"); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", usagef("no data directory: %v; give --data-dir or JESUS_DATA", err)
	}
	return filepath.Join(c, "jesus"), nil
}

// conn is an open registry, with the embedded etcd it started, if any.
type conn struct {
	reg   *registry.Registry
	emb   *embedded.Server
	where string // for messages: "etcd http://127.0.0.1:2379" or "embedded etcd in DIR"
}

func (c *conn) Close() {
	c.reg.Close()
	if c.emb != nil {
		c.emb.Close()
	}
}

// open connects to the registry the flags name: --etcd / JESUS_ETCD, else the etcd of a
// "jesus registry serve" on the data directory, else an embedded etcd started there.
// Failing to reach etcd within --dial-timeout is ExitUnavailable.
func (g *globals) open(ctx context.Context) (*conn, error) {
	cfg := registry.Config{DialTimeout: g.dialTimeout, CallTimeout: g.dialTimeout}
	if eps := g.endpoints(); len(eps) > 0 {
		if err := g.security(&cfg); err != nil {
			return nil, err
		}
		cfg.Endpoints = eps
		reg, err := registry.Open(ctx, cfg)
		if err != nil {
			return nil, unreachable(ctx, strings.Join(eps, ","), g.dialTimeout, err)
		}
		return &conn{reg: reg, where: "etcd " + strings.Join(eps, ",")}, nil
	}
	dir, err := g.dir()
	if err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(dir, endpointFile)); err == nil {
		if ep := strings.TrimSpace(string(b)); ep != "" {
			c := cfg
			c.Endpoints = []string{ep}
			c.DialTimeout = min(g.dialTimeout, time.Second)
			if err := g.security(&c); err != nil { // a serve with --tls-cert wants --cacert and maybe --cert/--key
				return nil, err
			}
			if reg, err := registry.Open(ctx, c); err == nil {
				return &conn{reg: reg, where: "etcd " + ep + " (jesus registry serve, " + dir + ")"}, nil
			}
			// A serve that died left the file behind: its etcd is not there, start our own.
		}
	}
	sctx, cancel := context.WithTimeout(ctx, g.dialTimeout+10*time.Second)
	defer cancel()
	emb, err := embedded.Start(sctx, embedded.Config{Dir: filepath.Join(dir, "etcd")})
	if err != nil {
		return nil, withCode(ExitUnavailable, fmt.Errorf("cannot start an embedded etcd in %s: %w (is another process using it? give --etcd or --data-dir)", dir, err))
	}
	cfg.Endpoints = emb.Endpoints()
	reg, err := registry.Open(ctx, cfg)
	if err != nil {
		emb.Close()
		return nil, unreachable(ctx, strings.Join(cfg.Endpoints, ","), g.dialTimeout, err)
	}
	return &conn{reg: reg, emb: emb, where: "embedded etcd in " + dir}, nil
}

func unreachable(ctx context.Context, eps string, d time.Duration, err error) error {
	if ctx.Err() != nil {
		return withCode(ExitUnavailable, fmt.Errorf("gave up before etcd at %s answered: %w (see --timeout)", eps, context.Cause(ctx)))
	}
	return withCode(ExitUnavailable, fmt.Errorf("etcd at %s did not answer within %v (--dial-timeout): %w", eps, d, err))
}

// registryErr maps registry errors to exit codes.
func registryErr(err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	if errors.Is(err, registry.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return withCode(ExitUnavailable, err)
	}
	return withCode(ExitFailure, err)
}

func newRegistryCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Run the registry (etcd)",
		Args:  argsBetween(0, 0),
		RunE:  func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	var listen, peer, adminAddr string
	var serveJSON bool
	var serveTLS embedded.TLSFiles
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Run an embedded etcd on loopback until interrupted",
		Long: `serve runs etcd inside this process, listening on loopback only, with its data in
--data-dir (default $JESUS_DATA, else ` + defaultDataDirHelp + `). It prints the
client URL and writes it to <data-dir>/endpoint, so that other jesus commands on the same
data directory use this etcd; it stops on SIGINT or SIGTERM (removing that file).

Other programs reach it with --etcd URL or JESUS_ETCD=URL. With --tls-cert and --tls-key
it serves https; with --tls-cacert too it requires client certificates (give other
commands --cacert, --cert and --key).`,
		Args: argsBetween(0, 0),
		RunE: func(c *cobra.Command, _ []string) error {
			dir, err := g.dir()
			if err != nil {
				return err
			}
			ctx := c.Context()
			sctx, cancel := context.WithTimeout(ctx, g.dialTimeout+10*time.Second)
			defer cancel()
			ecfg := embedded.Config{Dir: filepath.Join(dir, "etcd"), ClientAddr: listen, PeerAddr: peer}
			if serveTLS.CertFile != "" || serveTLS.KeyFile != "" || serveTLS.CAFile != "" {
				if serveTLS.CertFile == "" || serveTLS.KeyFile == "" {
					return usagef("registry serve: --tls-cert and --tls-key go together")
				}
				ecfg.TLS = &serveTLS
			}
			emb, err := embedded.Start(sctx, ecfg)
			if err != nil {
				return withCode(ExitUnavailable, fmt.Errorf("registry serve: cannot start etcd in %s: %w", dir, err))
			}
			defer emb.Close()
			ep := emb.Endpoints()[0]
			epPath := filepath.Join(dir, endpointFile)
			if err := os.WriteFile(epPath, []byte(ep+"\n"), 0o644); err != nil {
				return withCode(ExitFailure, fmt.Errorf("registry serve: %w", err))
			}
			defer os.Remove(epPath)
			stopAdmin, err := startAdmin(adminAddr, g)
			if err != nil {
				return err
			}
			defer stopAdmin()
			if serveJSON {
				_ = writeJSONLine(g.env.Stdout, map[string]string{"etcd": ep, "dataDir": dir})
				<-ctx.Done()
				return nil
			}
			fmt.Fprintf(g.env.Stdout, "etcd serving on %s (data in %s); stop with Ctrl-C\nexport JESUS_ETCD=%s\n", ep, dir, ep)
			<-ctx.Done()
			fmt.Fprintln(g.env.Stdout, "etcd stopping")
			return nil
		},
	}
	serve.Flags().StringVar(&listen, "listen", "127.0.0.1:2379", "client address (loopback only; port 0 picks a free one)")
	serve.Flags().StringVar(&peer, "peer", "127.0.0.1:0", "peer address (loopback only)")
	serve.Flags().StringVar(&serveTLS.CertFile, "tls-cert", "", "serve clients over TLS with this certificate (PEM)")
	serve.Flags().StringVar(&serveTLS.KeyFile, "tls-key", "", "key (PEM) of --tls-cert")
	serve.Flags().StringVar(&serveTLS.CAFile, "tls-cacert", "", "require client certificates that chain to this CA (PEM)")
	addAdminFlag(serve, &adminAddr)
	serve.Flags().BoolVar(&serveJSON, "json", false, `print where etcd serves as one JSON line ({"etcd": URL, "dataDir": ...})`)
	cmd.AddCommand(serve)
	return cmd
}
