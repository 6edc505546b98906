// Package demo is "jesus demo": it runs the example services of schemas/ (orders, billing,
// audit) in one process on an embedded etcd and real loopback sockets, shows every
// capability of jesus at work in a readable transcript, and fails naming the first step
// that did not behave as expected. StartServices is also what the command line's tests
// run their calls against.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/jesus/admin"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
	"github.com/jesus-go/jesus/schema/registry/embedded"
)

// Config configures Run.
type Config struct {
	// Schemas is the directory of the example descriptors; "" looks for schemas/ in the
	// working directory and its parents.
	Schemas string
	// Out receives the transcript.
	Out io.Writer
	// Verbose also prints the services' log lines (to Out).
	Verbose bool
	// Timeout bounds the steps of the demo (default 60 s).
	Timeout time.Duration
	// Registry, when set, is used instead of an embedded etcd in a temporary directory.
	Registry *registry.Registry
	// Serve keeps the services running after the steps, instead of shutting them down,
	// until ctx ends; then they shut down gracefully.
	Serve bool
	// HTTPAddr, with Serve, pins orders' http channel to this loopback address.
	HTTPAddr string
	// Admin, with Serve, gets the services' servers (readiness while they drain) and
	// their startup compatibility checks (readiness while one fails).
	Admin *admin.Admin
}

// FindSchemas returns dir when set, else the first schemas/ directory holding orders.json
// in the working directory or one of its parents.
func FindSchemas(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		cand := filepath.Join(d, "schemas")
		if _, err := os.Stat(filepath.Join(cand, "orders.json")); err == nil {
			return cand, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("demo: no schemas/ directory with orders.json here or in a parent directory; run from the repository or give --schemas")
		}
	}
}

// StepError names the step of the demo that did not behave as expected.
type StepError struct {
	Step  int
	Title string
	Err   error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("demo: step %d (%s) did not behave as expected: %v", e.Step, e.Title, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// transcript prints numbered steps with timings and stops at the first failure.
type transcript struct {
	out   io.Writer
	n     int
	fails *StepError
}

func (t *transcript) printf(format string, args ...any) {
	fmt.Fprintf(t.out, "     "+format+"\n", args...)
}

// step runs f as the next step unless one failed already.
func (t *transcript) step(title string, f func() error) {
	if t.fails != nil {
		return
	}
	t.n++
	fmt.Fprintf(t.out, "\n[%2d] %s\n", t.n, title)
	start := time.Now()
	err := f()
	if err != nil {
		fmt.Fprintf(t.out, "     UNEXPECTED: %v\n", err)
		t.fails = &StepError{Step: t.n, Title: title, Err: err}
		return
	}
	fmt.Fprintf(t.out, "     ok (%v)\n", since(start))
}

// Run runs the demo and returns nil only if every step behaved as expected, else a
// *StepError.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	began := time.Now()
	t := &transcript{out: cfg.Out}
	fmt.Fprintln(cfg.Out, "jesus demo: the example services of schemas/ on an embedded etcd, real sockets on loopback")

	d := &run{t: t, cfg: cfg, ctx: ctx}
	defer d.close()

	if cfg.Registry != nil {
		t.step("registry: use the given etcd", d.useRegistry)
	} else {
		t.step("registry: start an embedded etcd in a temporary directory", d.startRegistry)
	}
	t.step("schemas: load and lint schemas/, publish every descriptor", d.publish)
	t.step("services: start billing, audit, orders; startup compatibility check (compatible)", d.startServices)
	t.step("call, response mode, tcp: orders.create through the registry (orders calls billing, emits order.created)", d.create)
	t.step("domain event over http: order.created reached its listeners, with acks", d.domainEvent)
	t.step("calls in every mode over tcp (orders channel rpc)", func() error { return d.modes("rpc") })
	t.step("calls in every mode over unix (orders channel local)", func() error { return d.modes("local") })
	t.step("calls in every mode over http (orders channel domain)", func() error { return d.modes("domain") })
	t.step("calls over udp (orders channel logs): noResponse and ack; response and stream are refused", func() error { return d.modes("logs") })
	t.step("plain HTTP: POST /orders.get with Content-Type: application/json, as curl does", d.plainHTTP)
	t.step("log events over udp: orders emits, audit counts", d.logs)
	t.step("stream from another service: audit.tail over tcp", d.auditTail)
	t.step("validation: an invalid request refused before sending, then by the receiver; a bad reply by the caller", d.validation)
	t.step("compatibility: a breaking descriptor (orders@1.3.0) refuses to start", d.breaking)
	if !cfg.Serve {
		t.step("shutdown: every service deregisters and drains", d.shutdown)
	}

	if t.fails != nil {
		fmt.Fprintf(cfg.Out, "\ndemo: FAILED at step %d (%s) after %v\n", t.fails.Step, t.fails.Title, since(began))
		return t.fails
	}
	fmt.Fprintf(cfg.Out, "\ndemo: %d steps, all as expected (%v)\n", t.n, since(began))
	if cfg.Serve {
		return d.serve(parent)
	}
	return nil
}

// serve keeps the services up until ctx ends.
func (d *run) serve(ctx context.Context) error {
	if a := d.cfg.Admin; a != nil {
		for _, n := range []*Node{d.svcs.Orders, d.svcs.Billing, d.svcs.Audit} {
			a.AddServer(n.Server)
			a.AddCheck(n.Desc.Service+" compatibility", n.Compat.Check)
		}
	}
	o := d.svcs.Orders.Server.Endpoints()
	fmt.Fprintf(d.cfg.Out, "\nservices stay up until interrupted (%s); orders' channels:\n", d.where)
	for _, name := range slices.Sorted(maps.Keys(o)) {
		fmt.Fprintf(d.cfg.Out, "  %-7s %s\n", name, o[name])
	}
	if sp, err := channel.ParseSpec(o["domain"]); err == nil {
		fmt.Fprintf(d.cfg.Out, "  curl:   http://%s/orders.get\n", sp.Addr)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	err := d.svcs.Shutdown(sctx)
	d.svcs = nil
	fmt.Fprintln(d.cfg.Out, "services stopped")
	return err
}

// run is the state of one demo run.
type run struct {
	t   *transcript
	cfg Config
	ctx context.Context

	where string // the registry, for messages
	tmp   string
	emb   *embedded.Server
	w     *World
	svcs  *Services
	order string // the id of the order created in step 4
}

func (d *run) close() {
	if d.svcs != nil {
		d.svcs.Close()
	}
	if d.w != nil {
		d.w.Cache.Close()
		if d.cfg.Registry == nil {
			d.w.Reg.Close()
		}
	}
	if d.emb != nil {
		d.emb.Close()
	}
	if d.tmp != "" {
		os.RemoveAll(d.tmp)
	}
}

func (d *run) logger() *slog.Logger {
	if !d.cfg.Verbose {
		return nil
	}
	return slog.New(slog.NewTextHandler(d.cfg.Out, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// compactJSON renders v as compact JSON, cut to a readable length.
func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	const max = 160
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

func indent(s string) string { return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n     ") }

// loadSet loads the example descriptors.
func loadSet(dir string) (*schema.Set, error) {
	return schema.LoadDir(dir)
}
