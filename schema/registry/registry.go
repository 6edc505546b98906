package registry

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry/internal/zaplog"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Defaults of Config.
const (
	DefaultPrefix            = "/jesus/"
	DefaultDialTimeout       = 5 * time.Second
	DefaultCallTimeout       = 5 * time.Second
	DefaultTTL               = 5 * time.Second
	DefaultMaxDescriptorSize = 1 << 20
)

// reconnectMax caps gRPC's reconnect backoff towards etcd (its own default grows to
// two minutes), so that a restarted etcd is found again within about a second.
const reconnectMax = time.Second

// Config configures a Registry. The zero value of each field means its default.
type Config struct {
	// Endpoints are etcd client URLs, e.g. "http://127.0.0.1:2379". Required.
	Endpoints []string
	// Prefix is put before every key; it must start and end with "/". Default "/jesus/".
	Prefix string
	// DialTimeout bounds Open: etcd must answer within it. Default 5 s.
	DialTimeout time.Duration
	// CallTimeout is the deadline of every single etcd call (on top of the caller's
	// context), so that no call blocks while etcd is down. Default 5 s.
	CallTimeout time.Duration
	// TTL is the lease time of registered instances, in whole seconds (at least 1 s):
	// a process that dies without deregistering disappears after at most TTL. Default 5 s.
	TTL time.Duration
	// MaxDescriptorSize bounds a descriptor document in bytes. Default 1 MiB; etcd's
	// own request limit is 1.5 MiB.
	MaxDescriptorSize int
	// Logger receives warnings (lost leases, broken watches, skipped bad records)
	// and the etcd client's own log lines. Nil: nothing is logged.
	Logger *slog.Logger
	// TLS is the client TLS config towards etcd ("https://" endpoints): the CA that
	// signed etcd's certificate, and a client certificate where etcd requires one.
	// TLSFiles builds it from PEM files. Nil: plaintext.
	TLS *tls.Config
	// Username and Password authenticate to an etcd with auth enabled. Empty: none.
	Username, Password string
}

func (c *Config) setDefaults() error {
	if len(c.Endpoints) == 0 {
		return errors.New("registry: config: Endpoints is empty")
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if !strings.HasPrefix(c.Prefix, "/") || !strings.HasSuffix(c.Prefix, "/") {
		return fmt.Errorf("registry: config: Prefix %q must start and end with /", c.Prefix)
	}
	orDefault(&c.DialTimeout, DefaultDialTimeout)
	orDefault(&c.CallTimeout, DefaultCallTimeout)
	orDefault(&c.TTL, DefaultTTL)
	if c.TTL < time.Second || c.TTL%time.Second != 0 {
		return fmt.Errorf("registry: config: TTL %s must be whole seconds, at least 1s (etcd leases count seconds)", c.TTL)
	}
	orDefault(&c.MaxDescriptorSize, DefaultMaxDescriptorSize)
	return nil
}

// orDefault sets *v to def when it is zero or negative.
func orDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// locked returns *p, read holding l.
func locked[T any](l sync.Locker, p *T) T {
	l.Lock()
	defer l.Unlock()
	return *p
}

// Registry is a connection to etcd holding service descriptors and instances.
// All methods are safe for concurrent use. Close is a hard stop: it ends every
// Cache and Registration made from the registry without revoking leases (instances
// then vanish after their TTL); close Registrations first to deregister at once.
type Registry struct {
	cfg Config
	cli *clientv3.Client
	log *slog.Logger

	mu     sync.Mutex
	closed bool
	owned  map[closer]struct{} // live caches and registrations
}

type closer interface{ stop() }

// Open connects to etcd and checks within cfg.DialTimeout that it answers; an etcd
// that is down gives an error wrapping ErrUnavailable instead of a blocked call.
func Open(ctx context.Context, cfg Config) (*Registry, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            cfg.Endpoints,
		DialTimeout:          cfg.DialTimeout,
		DialKeepAliveTime:    5 * time.Second,
		DialKeepAliveTimeout: 2 * time.Second,
		Logger:               zaplog.New(cfg.Logger),
		TLS:                  cfg.TLS,
		Username:             cfg.Username,
		Password:             cfg.Password,
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: reconnectMax},
			MinConnectTimeout: cfg.DialTimeout,
		})},
	})
	if err != nil {
		return nil, fmt.Errorf("registry: etcd client for %v%s: %w", cfg.Endpoints, cfg.securityHint(), err)
	}
	r := &Registry{cfg: cfg, cli: cli, log: log, owned: map[closer]struct{}{}}
	pctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	if _, err := cli.Get(pctx, cfg.Prefix, clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil {
		cli.Close()
		op := fmt.Sprintf("open %v (dial timeout %s%s)", cfg.Endpoints, cfg.DialTimeout, cfg.securityHint())
		if why := diagnose(cfg.Endpoints); why != "" {
			op += " [" + why + "]"
		}
		return nil, &opError{op: op, err: err, unavailable: true}
	}
	return r, nil
}

// Client returns the underlying etcd client, for tools that need more than the registry offers.
func (r *Registry) Client() *clientv3.Client { return r.cli }

// Config returns the configuration in use, defaults filled in.
func (r *Registry) Config() Config { return r.cfg }

// Close stops every Cache and Registration of the registry and closes the etcd
// connection. Leases are not revoked. It is safe to call more than once.
func (r *Registry) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	owned := make([]closer, 0, len(r.owned))
	for c := range r.owned {
		owned = append(owned, c)
	}
	r.owned = nil
	r.mu.Unlock()
	for _, c := range owned {
		c.stop()
	}
	return r.cli.Close()
}

func (r *Registry) own(c closer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	r.owned[c] = struct{}{}
	return nil
}

func (r *Registry) disown(c closer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.owned != nil {
		delete(r.owned, c)
	}
}

func (r *Registry) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// callCtx bounds one etcd call by CallTimeout.
func (r *Registry) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.cfg.CallTimeout)
}

// Keys, relative to the prefix (PROTOCOL.md §6).
func (r *Registry) versionsKey(service string) string {
	return r.cfg.Prefix + "services/" + service + "/versions/"
}

func (r *Registry) versionKey(service, version string) string {
	return r.versionsKey(service) + version
}

func (r *Registry) instanceKey(service, id string) string {
	return r.cfg.Prefix + "services/" + service + "/instances/" + id
}

// keyKind tells what a key under the prefix holds.
type keyKind int

const (
	keyOther keyKind = iota
	keyVersion
	keyInstance
)

// parseKey splits "<prefix>services/<svc>/versions/<ver>" or
// "<prefix>services/<svc>/instances/<id>"; anything else is keyOther.
func (r *Registry) parseKey(key string) (kind keyKind, service, name string) {
	rest, ok := strings.CutPrefix(key, r.cfg.Prefix+"services/")
	if !ok {
		return keyOther, "", ""
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || !ValidService(parts[0]) {
		return keyOther, "", ""
	}
	switch parts[1] {
	case "versions":
		if checkVersion(parts[2]) == nil {
			return keyVersion, parts[0], parts[2]
		}
	case "instances":
		if validID(parts[2]) {
			return keyInstance, parts[0], parts[2]
		}
	}
	return keyOther, "", ""
}

// opError is an etcd call that failed; it matches ErrUnavailable when etcd did not
// answer in time or could not be reached.
type opError struct {
	op          string
	err         error
	unavailable bool
}

func (e *opError) Error() string {
	if e.unavailable {
		return "registry: " + e.op + ": etcd unavailable: " + e.err.Error()
	}
	return "registry: " + e.op + ": " + e.err.Error()
}

func (e *opError) Unwrap() []error {
	if e.unavailable {
		return []error{e.err, ErrUnavailable}
	}
	return []error{e.err}
}

// wrap turns an etcd error into an opError. parent is the caller's context: a
// deadline of our own CallTimeout means etcd is unavailable, the caller's own does not.
func wrap(parent context.Context, op string, err error) error {
	unavailable := false
	switch {
	case parent.Err() != nil:
	case errors.Is(err, context.DeadlineExceeded), status.Code(err) == codes.DeadlineExceeded,
		status.Code(err) == codes.Unavailable:
		unavailable = true
	}
	return &opError{op: op, err: err, unavailable: unavailable}
}

// descriptorHeader is the part of a descriptor the registry reads.
type descriptorHeader struct {
	Service string `json:"service"`
	Version string `json:"version"`
}

// canonical checks a descriptor document and returns its canonical (compact) form.
func (r *Registry) canonical(service, version string, doc []byte) ([]byte, error) {
	if !ValidService(service) {
		return nil, fmt.Errorf("%w: service %q: want ^[a-z][a-z0-9-]*$, at most %d bytes", ErrInvalid, service, maxServiceLen)
	}
	if err := checkVersion(version); err != nil {
		return nil, fmt.Errorf("service %s: %w", service, err)
	}
	if len(doc) > r.cfg.MaxDescriptorSize {
		return nil, fmt.Errorf("%w: descriptor %s@%s is %d bytes, MaxDescriptorSize is %d", ErrInvalid, service, version, len(doc), r.cfg.MaxDescriptorSize)
	}
	var buf bytes.Buffer
	buf.Grow(len(doc))
	if err := json.Compact(&buf, doc); err != nil {
		return nil, fmt.Errorf("%w: descriptor %s@%s: not JSON: %v", ErrInvalid, service, version, err)
	}
	var h descriptorHeader
	if err := json.Unmarshal(buf.Bytes(), &h); err != nil {
		return nil, fmt.Errorf("%w: descriptor %s@%s: want a JSON object with string service and version: %v", ErrInvalid, service, version, err)
	}
	if h.Service != service || h.Version != version {
		return nil, fmt.Errorf("%w: descriptor says %q@%q, published as %s@%s", ErrInvalid, h.Service, h.Version, service, version)
	}
	return buf.Bytes(), nil
}

// PublishDescriptor stores doc as service@version. Publishing the same content again
// (compared in compact JSON form) is a no-op; different content under a published
// version is an error wrapping ErrVersionExists. The check and the write are one etcd
// transaction, so of concurrent publishers of different content exactly one wins.
// doc must be a JSON object whose "service" and "version" match the arguments.
func (r *Registry) PublishDescriptor(ctx context.Context, service, version string, doc []byte) error {
	canon, err := r.canonical(service, version, doc)
	if err != nil {
		return err
	}
	key := r.versionKey(service, version)
	cctx, cancel := r.callCtx(ctx)
	defer cancel()
	resp, err := r.cli.Txn(cctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(canon))).
		Else(clientv3.OpGet(key)).
		Commit()
	if err != nil {
		return wrap(ctx, "publish "+service+"@"+version, err)
	}
	if resp.Succeeded {
		return nil
	}
	if len(resp.Responses) == 1 {
		if rr := resp.Responses[0].GetResponseRange(); rr != nil && len(rr.Kvs) == 1 && bytes.Equal(rr.Kvs[0].Value, canon) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s@%s", ErrVersionExists, service, version)
}

// Descriptor fetches the descriptor of service@version from etcd; a missing one is
// an error wrapping ErrNotFound.
func (r *Registry) Descriptor(ctx context.Context, service, version string) ([]byte, error) {
	if !ValidService(service) {
		return nil, fmt.Errorf("%w: service %q", ErrInvalid, service)
	}
	if err := checkVersion(version); err != nil {
		return nil, err
	}
	cctx, cancel := r.callCtx(ctx)
	defer cancel()
	resp, err := r.cli.Get(cctx, r.versionKey(service, version))
	if err != nil {
		return nil, wrap(ctx, "descriptor "+service+"@"+version, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("%w: descriptor %s@%s", ErrNotFound, service, version)
	}
	return resp.Kvs[0].Value, nil
}

// Versions lists the published versions of service, lowest semver precedence first.
// A service without versions gives an empty list.
func (r *Registry) Versions(ctx context.Context, service string) ([]string, error) {
	if !ValidService(service) {
		return nil, fmt.Errorf("%w: service %q", ErrInvalid, service)
	}
	cctx, cancel := r.callCtx(ctx)
	defer cancel()
	resp, err := r.cli.Get(cctx, r.versionsKey(service), clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, wrap(ctx, "versions of "+service, err)
	}
	out := make([]string, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		if kind, _, v := r.parseKey(string(kv.Key)); kind == keyVersion {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, schema.CompareVersions)
	return out, nil
}

// Services lists, sorted, the services that have a published version or a live instance.
func (r *Registry) Services(ctx context.Context) ([]string, error) {
	cctx, cancel := r.callCtx(ctx)
	defer cancel()
	resp, err := r.cli.Get(cctx, r.cfg.Prefix+"services/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, wrap(ctx, "services", err)
	}
	var out []string
	for _, kv := range resp.Kvs {
		if kind, s, _ := r.parseKey(string(kv.Key)); kind != keyOther {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// diagnose says why etcd did not answer, as far as a TCP connection to each endpoint
// tells (e.g. "127.0.0.1:2379: connection refused"): the etcd client only reports that
// its deadline passed.
func diagnose(endpoints []string) string {
	var why []string
	for _, ep := range endpoints {
		hostport := ep
		if u, err := url.Parse(ep); err == nil && u.Host != "" {
			hostport = u.Host
		}
		c, err := net.DialTimeout("tcp", hostport, 500*time.Millisecond)
		if err != nil {
			var sys *os.SyscallError
			msg := err.Error()
			if errors.As(err, &sys) {
				msg = sys.Err.Error()
			}
			why = append(why, hostport+": "+msg)
			continue
		}
		c.Close()
	}
	return strings.Join(why, "; ")
}
