// Package embedded runs a real etcd server inside the process, on loopback, for one
// machine that needs nothing else: the CLI's default registry, the demo and tests.
// Only programs that start a registry link it; clients of a registry need only
// package registry.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"go.etcd.io/etcd/client/pkg/v3/fileutil"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
	"google.golang.org/grpc"

	"github.com/jesus-go/jesus/schema/registry"
	"github.com/jesus-go/jesus/schema/registry/internal/zaplog"
)

// Config configures an etcd server run inside the process.
type Config struct {
	// Dir is the data directory; it is created if missing and reused on restart.
	// Empty: a new temporary directory, removed by Close (a throwaway registry for
	// tests, examples and demos).
	Dir string
	// ClientAddr and PeerAddr are loopback host:port pairs. Empty or port 0
	// (the default "127.0.0.1:0") picks a free port once; Restart reuses it.
	ClientAddr, PeerAddr string
	// Logger receives etcd's own log lines. Nil: etcd logs nothing.
	Logger *slog.Logger
	// TLS, when set, makes etcd serve its clients over TLS (https:// endpoints).
	TLS *TLSFiles
}

// TLSFiles names the PEM files of an embedded etcd that serves TLS to its clients.
type TLSFiles struct {
	CertFile, KeyFile string // etcd's certificate (with an IP SAN for the loopback address) and key
	// CAFile, when set, is the CA that client certificates must chain to: etcd then
	// requires one (mutual TLS).
	CAFile string
}

// lockFile, inside the data directory, is held by the process running etcd there.
const lockFile = "jesus.lock"

// Server is an etcd server running in this process, listening on loopback only.
// Its methods are safe for concurrent use.
type Server struct {
	cfg        Config
	clientAddr string
	peerAddr   string

	mu       sync.Mutex
	etcd     *embed.Etcd
	lock     *fileutil.LockedFile // held while etcd runs
	stopping context.CancelFunc   // ends open client streams, see streamStopper
	closed   bool
	tempDir  bool // Dir was made by Start; Close removes it
}

// Start starts etcd in cfg.Dir and waits until it serves clients or ctx ends.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	temp := cfg.Dir == ""
	if temp {
		dir, err := os.MkdirTemp("", "jesus-etcd-")
		if err != nil {
			return nil, fmt.Errorf("registry: embedded etcd: a temporary data directory: %w", err)
		}
		cfg.Dir = dir
	}
	e, err := startIn(ctx, cfg)
	if err != nil {
		if temp {
			os.RemoveAll(cfg.Dir)
		}
		return nil, err
	}
	e.tempDir = temp
	return e, nil
}

// startIn starts etcd in cfg.Dir, picking free ports again when one was taken meanwhile.
func startIn(ctx context.Context, cfg Config) (*Server, error) {
	// A port picked here may be taken by another process before etcd binds it;
	// then pick again, a few times.
	const attempts = 3
	for i := 1; ; i++ {
		clientAddr, err := loopbackAddr("ClientAddr", cfg.ClientAddr)
		if err != nil {
			return nil, err
		}
		peerAddr, err := loopbackAddr("PeerAddr", cfg.PeerAddr)
		if err != nil {
			return nil, err
		}
		e := &Server{cfg: cfg, clientAddr: clientAddr, peerAddr: peerAddr}
		err = e.start(ctx)
		if err == nil {
			return e, nil
		}
		picked := isAutoPort(cfg.ClientAddr) || isAutoPort(cfg.PeerAddr)
		if !picked || !errors.Is(err, syscall.EADDRINUSE) || i == attempts || ctx.Err() != nil {
			return nil, err
		}
	}
}

func isAutoPort(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	return addr == "" || err == nil && port == "0"
}

// loopbackAddr checks that addr is a loopback host:port and resolves port 0 to a free port.
func loopbackAddr(field, addr string) (string, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("registry: embedded etcd: %s %q: %v", field, addr, err)
	}
	ip := net.ParseIP(host)
	if host == "localhost" {
		ip = net.IPv4(127, 0, 0, 1)
	}
	if ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("registry: embedded etcd: %s %q: want a loopback address", field, addr)
	}
	if port != "0" {
		return net.JoinHostPort(ip.String(), port), nil
	}
	// etcd needs its peer URL in the initial cluster before it listens, so the port
	// is chosen here. Another process could take it before etcd binds; start then
	// fails with a clear error and the caller may retry.
	l, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		return "", fmt.Errorf("registry: embedded etcd: %s: picking a free port: %v", field, err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (e *Server) start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return fmt.Errorf("%w: embedded etcd", registry.ErrClosed)
	}
	if e.etcd != nil {
		return nil
	}
	// A second etcd on the same data directory would wait forever for the database
	// lock inside StartEtcd, out of reach of ctx; fail at once instead.
	if err := os.MkdirAll(e.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("registry: embedded etcd: %w", err)
	}
	lock, err := fileutil.TryLockFile(filepath.Join(e.cfg.Dir, lockFile), os.O_WRONLY|os.O_CREATE, 0o600)
	if errors.Is(err, fileutil.ErrLocked) {
		return fmt.Errorf("registry: embedded etcd: data dir %s is in use by another etcd", e.cfg.Dir)
	}
	if err != nil {
		return fmt.Errorf("registry: embedded etcd: locking data dir: %w", err)
	}
	started := false
	defer func() {
		if !started {
			lock.Close()
		}
	}()
	cu := url.URL{Scheme: e.scheme(), Host: e.clientAddr}
	pu := url.URL{Scheme: "http", Host: e.peerAddr}
	c := embed.NewConfig()
	c.Name = "jesus"
	c.Dir = e.cfg.Dir
	c.ListenClientUrls = []url.URL{cu}
	c.AdvertiseClientUrls = []url.URL{cu}
	c.ListenPeerUrls = []url.URL{pu}
	c.AdvertisePeerUrls = []url.URL{pu}
	c.InitialCluster = c.InitialClusterFromName(c.Name)
	if t := e.cfg.TLS; t != nil {
		c.ClientTLSInfo = transport.TLSInfo{CertFile: t.CertFile, KeyFile: t.KeyFile, TrustedCAFile: t.CAFile, ClientCertAuth: t.CAFile != ""}
	}
	c.ListenMetricsUrls = nil
	c.Logger = "zap"
	c.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zaplog.New(e.cfg.Logger))
	// One member on loopback: shorter election settings get it serving sooner.
	c.TickMs = 50
	c.ElectionMs = 500
	stopCtx, stopping := context.WithCancel(context.Background())
	c.GRPCAdditionalServerOptions = []grpc.ServerOption{grpc.ChainStreamInterceptor(streamStopper(stopCtx))}
	srv, err := embed.StartEtcd(c)
	if err != nil {
		stopping()
		return fmt.Errorf("registry: embedded etcd in %s (client %s, peer %s): %w", e.cfg.Dir, e.clientAddr, e.peerAddr, err)
	}
	select {
	case <-srv.Server.ReadyNotify():
		e.etcd = srv
		e.stopping = stopping
		e.lock = lock
		started = true
		return nil
	case err := <-srv.Err():
		stopping()
		srv.Close()
		return fmt.Errorf("registry: embedded etcd in %s: %w", e.cfg.Dir, err)
	case <-ctx.Done():
		stopping()
		srv.Close()
		return fmt.Errorf("registry: embedded etcd in %s: not ready: %w", e.cfg.Dir, ctx.Err())
	}
}

// streamStopper ends every client stream (watches, lease keep-alives) when stop is
// done. etcd's Close otherwise waits up to its request timeout (about 6 s) for such
// streams before it cuts them, and a client that keeps a watch open always has one.
func streamStopper(stop context.Context) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, cancel := context.WithCancel(ss.Context())
		defer cancel()
		unhook := context.AfterFunc(stop, cancel)
		defer unhook()
		return handler(srv, stoppableStream{ServerStream: ss, ctx: ctx})
	}
}

type stoppableStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s stoppableStream) Context() context.Context { return s.ctx }

// Endpoints returns the client URLs, e.g. ["http://127.0.0.1:2379"]. They stay the
// same across Stop and Restart.
func (e *Server) Endpoints() []string {
	return []string{e.scheme() + "://" + e.clientAddr}
}

func (e *Server) scheme() string {
	if e.cfg.TLS != nil {
		return "https"
	}
	return "http"
}

// Stop stops etcd, keeping its data directory and ports for Restart.
func (e *Server) Stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.etcd != nil {
		e.stopping()
		e.etcd.Close()
		e.etcd = nil
		e.lock.Close()
		e.lock = nil
	}
}

// Restart starts a stopped etcd again on the same data directory and ports.
// It is a no-op when etcd is running.
func (e *Server) Restart(ctx context.Context) error {
	return e.start(ctx)
}

// Running reports whether etcd is started.
func (e *Server) Running() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.etcd != nil
}

// Close stops etcd for good. It is safe to call more than once.
func (e *Server) Close() error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.Stop()
	if e.tempDir {
		if err := os.RemoveAll(e.cfg.Dir); err != nil {
			return fmt.Errorf("registry: embedded etcd: removing its temporary data directory: %w", err)
		}
	}
	return nil
}

// Dir returns the data directory.
func (e *Server) Dir() string { return e.cfg.Dir }
