package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
	"github.com/spf13/cobra"
)

// parseMode reads a mode in any letter case: "noresponse", "ACK", "Stream".
func parseMode(s string) (jesus.Mode, error) {
	for _, m := range []jesus.Mode{jesus.ModeNoResponse, jesus.ModeAck, jesus.ModeResponse, jesus.ModeStream} {
		if strings.EqualFold(s, m.String()) {
			return m, nil
		}
	}
	return 0, fmt.Errorf("unknown mode %q: want noResponse, ack, response or stream (any case)", s)
}

// callOpts are call's flags for going without the registry (--target) and for the meta
// of the request (-H).
type callOpts struct {
	target  string
	schemas string
	headers []string
	sec     callerTLS // TLS towards the service, the caller's name, sealing keys

	mu   sync.Mutex
	peer string // the receiver's address, once a route was picked
}

func (o *callOpts) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.target, "target", "", "call this channel directly, without etcd: TRANSPORT+CODEC://HOST:PORT (e.g. tcp+msgpack+zstd://127.0.0.1:4100)")
	cmd.Flags().StringVar(&o.schemas, "schemas", "", "with --target: descriptors (DIR or FILE) that give the method's mode and check the request and the reply")
	cmd.Flags().StringArrayVarP(&o.headers, "header", "H", nil, "meta of the request, KEY=VALUE (repeatable): corrid, userid, traceparent; any other key goes into the extra meta")
}

// meta applies the -H flags: corrid and userid through the context, traceparent and extra
// keys through an interceptor. It also returns the interceptor that remembers the peer.
func (o *callOpts) meta(ctx context.Context) (context.Context, []jesus.Option, error) {
	var trace string
	var extra map[string]string
	for _, h := range o.headers {
		k, v, ok := strings.Cut(h, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, nil, usagef("call: -H %q: want KEY=VALUE", h)
		}
		switch strings.ToLower(k) {
		case "corrid", "corr-id", "correlation-id":
			ctx = jesus.WithCorrID(ctx, v)
		case "userid", "user-id", "user":
			ctx = jesus.WithUserID(ctx, v)
		case "traceparent":
			trace = v
		default:
			if extra == nil {
				extra = map[string]string{}
			}
			extra[k] = v
		}
	}
	ic := metaInterceptor{trace: trace, extra: extra, peer: o.setPeer}
	return ctx, []jesus.Option{jesus.WithInterceptors(ic)}, nil
}

func (o *callOpts) setPeer(p string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if p != "" {
		o.peer = p
	}
}

// where names the address a call went to, for error messages ("" when none was picked).
func (o *callOpts) where() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.peer == "" {
		return o.target
	}
	return o.peer
}

// metaInterceptor sets the meta of outgoing calls and reports the receiver's address.
type metaInterceptor struct {
	trace string
	extra map[string]string
	peer  func(string)
}

func (m metaInterceptor) set(call *jesus.Invocation) {
	if m.trace != "" {
		call.Meta.Trace = m.trace
	}
	if len(m.extra) > 0 {
		ex := make(map[string]string, len(call.Meta.Extra)+len(m.extra))
		for k, v := range call.Meta.Extra {
			ex[k] = v
		}
		for k, v := range m.extra {
			ex[k] = v
		}
		call.Meta.Extra = ex
	}
}

func (m metaInterceptor) WrapUnary(next jesus.UnaryFunc) jesus.UnaryFunc {
	return func(ctx context.Context, call *jesus.Invocation) error {
		m.set(call)
		err := next(ctx, call)
		m.peer(call.Peer)
		return err
	}
}

func (m metaInterceptor) WrapStream(next jesus.StreamFunc) jesus.StreamFunc {
	return func(ctx context.Context, call *jesus.Invocation, send func(any) error) error {
		m.set(call)
		err := next(ctx, call, send)
		m.peer(call.Peer)
		return err
	}
}

// callErr names the method and the address of a failed call; the exit code follows the
// error's code (unavailable and deadline_exceeded: ExitUnavailable).
func (o *callOpts) callErr(method string, err error) error {
	if err == nil {
		return nil
	}
	msg := strings.TrimPrefix(err.Error(), "jesus: ")
	msg = strings.TrimPrefix(msg, method+": ")
	at := ""
	if w := o.where(); w != "" {
		at = " at " + w
	}
	return callErr(&wrapped{msg: fmt.Sprintf("call %s%s: %s", method, at, msg), err: err})
}

// wrapped replaces an error's message and keeps it for errors.As and jesus.CodeOf.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// client returns the client of verb (call, bench) for svc.method and the mode to use:
// through --target, or through the registry (the method's channel in the receiver's latest
// descriptor, or chName; a live instance round robin; the published schemas checked).
// done releases what it opened.
func (o *callOpts) client(ctx context.Context, g *globals, verb, svc, method, chName string, mode jesus.Mode, metaOpts []jesus.Option) (*jesus.Client, jesus.Mode, func(), error) {
	if o.target != "" {
		cl, mode, err := o.targetClient(svc, method, mode, metaOpts)
		if err != nil {
			return nil, 0, nil, err
		}
		return cl, mode, func() { cl.Close() }, nil
	}
	var open closers
	fail := func(err error) (*jesus.Client, jesus.Mode, func(), error) {
		open.close()
		return nil, 0, nil, err
	}
	cn, cache, err := g.watch(ctx, verb)
	if err != nil {
		return fail(err)
	}
	open.add(func() { cn.Close() }, func() { cache.Close() })
	ver, doc, ok := cache.Latest(svc)
	if !ok {
		return fail(withCode(ExitFailure, fmt.Errorf("%s: no service %q in the registry (%s); see jesus schema ls", verb, svc, cn.where)))
	}
	d, err := schema.Parse(svc+"@"+ver+".json", doc)
	if err != nil {
		return fail(withCode(ExitFailure, fmt.Errorf("%s: %s@%s: %w", verb, svc, ver, err)))
	}
	ep, err := methodOf(d, svc+"@"+ver, method)
	if err != nil {
		return fail(withCode(ExitFailure, fmt.Errorf("%s: %w", verb, err)))
	}
	if mode == 0 {
		mode = ep.Mode
	}
	if _, ok := d.Channels[chName]; chName != "" && !ok {
		return fail(usagef("%s: %s@%s has no channel %q", verb, svc, ver, chName))
	}
	disc := discovery.New(cache)
	open.add(func() { disc.Close() })
	var res jesus.Resolver = disc
	if chName != "" {
		res = disc.OnChannel(chName)
	}
	secOpts, from, err := o.sec.options(disc)
	if err != nil {
		return fail(err)
	}
	cl := jesus.NewClient(from, append(append(secOpts, metaOpts...), jesus.WithResolver(res), jesus.WithValidation(disc))...)
	open.add(func() { cl.Close() })
	return cl, mode, open.close, nil
}

// targetClient is the client of --target: one channel, no registry; with --schemas the
// mode (when not given) and the checks come from the descriptors.
func (o *callOpts) targetClient(svc, method string, mode jesus.Mode, opts []jesus.Option) (*jesus.Client, jesus.Mode, error) {
	sp, err := channel.ParseSpec(o.target)
	if err != nil || sp.Addr == "" {
		return nil, 0, usagef("call: --target %q: want TRANSPORT+CODEC://HOST:PORT, e.g. tcp+msgpack://127.0.0.1:4100", o.target)
	}
	opts = append(opts, jesus.WithTarget(o.target))
	if o.schemas != "" {
		l, err := loadPath(o.schemas)
		if err != nil {
			return nil, 0, withCode(ExitFailure, fmt.Errorf("call: --schemas: %w", err))
		}
		d := l.set.Service(svc)
		if d == nil {
			return nil, 0, withCode(ExitFailure, fmt.Errorf("call: --schemas %s has no service %q", o.schemas, svc))
		}
		m, ok := d.Methods[method]
		if !ok {
			return nil, 0, withCode(ExitFailure, fmt.Errorf("call: %s has no method %q (methods: %s)", d.ID(), method, strings.Join(methodNames(d), ", ")))
		}
		if mode == 0 {
			mode = m.Mode
		}
		opts = append(opts, jesus.WithValidation(jesus.ReceiverSchemas(l.set)))
	}
	if mode == 0 {
		mode = jesus.ModeResponse
	}
	secOpts, from, err := o.sec.options(nil)
	if err != nil {
		return nil, 0, err
	}
	return jesus.NewClient(from, append(secOpts, opts...)...), mode, nil
}

func methodNames(d *schema.Descriptor) []string {
	var out []string
	for _, p := range d.Parts() {
		if p.Part == schema.PartRequest {
			out = append(out, p.Name)
		}
	}
	return out
}

// invoke runs one call in mode and prints the result: a JSON line per response or stream
// item on stdout, a note on stderr for one-way calls and at the end of a stream.
func (o *callOpts) invoke(ctx context.Context, cl *jesus.Client, method string, mode jesus.Mode, req any, stdout, stderr io.Writer) error {
	start := time.Now()
	switch mode {
	case jesus.ModeStream:
		n := 0
		for item, err := range jesus.Stream[any, any](ctx, cl, method, req) {
			if err != nil {
				return o.callErr(method, err)
			}
			n++
			if err := writeJSONLine(stdout, item); err != nil {
				return withCode(ExitFailure, fmt.Errorf("call: item %d: %w", n, err))
			}
		}
		fmt.Fprintf(stderr, "%s: stream ended after %d item(s) in %v\n", method, n, time.Since(start).Round(time.Microsecond))
	case jesus.ModeResponse:
		var out any
		if err := cl.Invoke(ctx, method, mode, req, &out); err != nil {
			return o.callErr(method, err)
		}
		if err := writeJSONLine(stdout, out); err != nil {
			return withCode(ExitFailure, fmt.Errorf("call: response: %w", err))
		}
	default:
		if err := cl.Invoke(ctx, method, mode, req, nil); err != nil {
			return o.callErr(method, err)
		}
		what := "acknowledged"
		if mode == jesus.ModeNoResponse {
			what = "sent (noResponse: no answer expected)"
		}
		fmt.Fprintf(stderr, "%s: %s in %v\n", method, what, time.Since(start).Round(time.Microsecond))
	}
	return nil
}

// closers is what a function opened, to be closed last first when it fails or when its
// caller is done.
type closers []func()

func (c *closers) add(f ...func()) { *c = append(*c, f...) }

func (c *closers) close() {
	for i := len(*c) - 1; i >= 0; i-- {
		(*c)[i]()
	}
}

// methodOf is d's method; the error names the methods d has. label names d (svc@ver).
func methodOf(d *schema.Descriptor, label, method string) (schema.Method, error) {
	ep, ok := d.Methods[method]
	if !ok {
		names := slices.Sorted(maps.Keys(d.Methods))
		return ep, fmt.Errorf("%s has no method %q (methods: %s)", label, method, strings.Join(names, ", "))
	}
	return ep, nil
}
