package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
	"github.com/spf13/cobra"
)

// benchConfig is what one bench run does.
type benchConfig struct {
	method      string
	mode        jesus.Mode
	concurrency int
	duration    time.Duration
	count       int64
	rate        float64
	callTimeout time.Duration
	req         any
	// op makes one call (or emit); it returns the number of stream items received.
	op func(ctx context.Context) (uint64, error)
}

// benchResult is what a bench run measured; it is also the --json document.
type benchResult struct {
	Method      string            `json:"method"`
	Mode        string            `json:"mode"`
	Concurrency int               `json:"concurrency"`
	Rate        float64           `json:"rate,omitempty"`
	Elapsed     time.Duration     `json:"elapsed_ns"`
	Calls       uint64            `json:"calls"`
	Errors      uint64            `json:"errors"`
	ErrorCodes  map[string]uint64 `json:"error_codes,omitempty"`
	FirstError  string            `json:"first_error,omitempty"`
	Items       uint64            `json:"items,omitempty"`
	PerSecond   float64           `json:"calls_per_second"`
	Latency     map[string]int64  `json:"latency_ns"`
	Histogram   []row             `json:"histogram"`
}

// benchFlags are bench's flags.
type benchFlags struct {
	cfg                       benchConfig
	modeFlag, chName, from    string
	asJSON, progress, isEvent bool
	o                         callOpts
}

func newBenchCmd(g *globals) *cobra.Command {
	var bf benchFlags
	cmd := &cobra.Command{
		Use:   "bench SERVICE.METHOD [JSON|-]  |  bench --event EVENT [JSON|-]",
		Short: "Load a method or an event: throughput and a latency histogram",
		Long: `bench calls SERVICE.METHOD with the same request (the argument, or stdin) from
--concurrency callers at once, for --duration or until --count calls were made, as fast
as the service answers or at --rate calls per second in total. It reaches the service as
jesus call does (registry or --target, -H meta, the schemas checked on both ends) and
prints the throughput and the latency of successful calls: p50, p90, p99, p99.9 and a
histogram (--json: one JSON document). A stream call's latency runs until its end.

With --event it emits EVENT instead, as jesus emit does (--from picks the declaring
service): an emit counts once every listener got it (acknowledged it, for ack events).

It exits 1 when any call failed, after the report, naming the first error.

Examples:
  jesus bench orders.get '{"id":"o-1"}' -c 8 -d 5s
  jesus bench orders.touch '{"id":"o-1"}' --rate 1000 -n 5000 --json
  jesus bench --event log '{"level":"info","msg":"hi","at":"2026-01-02T03:04:05Z"}' -c 4 -n 1000`,
		Args: argsBetween(1, 2),
		RunE: func(c *cobra.Command, args []string) error { return bf.run(c.Context(), g, args) },
	}
	f := cmd.Flags()
	f.IntVarP(&bf.cfg.concurrency, "concurrency", "c", 1, "callers at once")
	f.DurationVarP(&bf.cfg.duration, "duration", "d", 5*time.Second, "how long to run (with --count: whichever ends first; 0: until --count)")
	f.Int64VarP(&bf.cfg.count, "count", "n", 0, "stop after this many calls (0: run for --duration)")
	f.Float64Var(&bf.cfg.rate, "rate", 0, "calls per second in total (0: as fast as the service answers)")
	f.DurationVar(&bf.cfg.callTimeout, "call-timeout", 10*time.Second, "deadline of each call")
	f.StringVar(&bf.modeFlag, "mode", "", "noResponse, ack, response or stream (default: the method's declared mode)")
	f.StringVar(&bf.chName, "channel", "", "the receiver's channel to use, by name (default: the method's channel)")
	f.BoolVar(&bf.asJSON, "json", false, "print the result as one JSON document")
	f.BoolVar(&bf.isEvent, "event", false, "emit the event named by the first argument instead of calling a method")
	f.StringVar(&bf.from, "from", "", "with --event: the service whose declaration of the event to use")
	f.BoolVar(&bf.progress, "progress", false, "show a progress bar on stderr (default: when stderr is a terminal)")
	bf.o.bind(cmd)
	return cmd
}

// run is bench: it checks the flags, reaches the method or the event, makes one call,
// then loads it and reports.
func (bf *benchFlags) run(ctx context.Context, g *globals, args []string) error {
	cfg := &bf.cfg
	if err := bf.check(args[0]); err != nil {
		return err
	}
	req, err := readJSON(args, 1, g.env.Stdin, "bench "+args[0])
	if err != nil {
		return err
	}
	cfg.req, cfg.method = req, args[0]
	if bf.modeFlag != "" {
		if cfg.mode, err = parseMode(bf.modeFlag); err != nil {
			return usagef("bench: --mode %q: want noResponse, ack, response or stream (any case)", bf.modeFlag)
		}
	}
	ctx, metaOpts, err := bf.o.meta(ctx)
	if err != nil {
		return err
	}
	setup, cancel := context.WithTimeout(ctx, 10*time.Second+g.dialTimeout)
	defer cancel()
	done, err := bf.reach(setup, g, args[0], metaOpts)
	if err != nil {
		return err
	}
	defer done()
	// One call first: a service that cannot be reached fails here, at once.
	if err := benchWarmUp(setup, *cfg); err != nil {
		return bf.o.callErr(cfg.method, err)
	}
	var pw io.Writer
	if bf.progress || isTerminal(g.env.Stderr) {
		pw = g.env.Stderr
	}
	return bf.report(g.env.Stdout, runBench(ctx, *cfg, pw))
}

// check refuses a target, concurrency and limits bench cannot run with.
func (bf *benchFlags) check(target string) error {
	svc, method, ok := strings.Cut(target, ".")
	if !bf.isEvent && (!ok || svc == "" || method == "") {
		return usagef("bench: %q is not SERVICE.METHOD (for an event: --event)", target)
	}
	cfg := bf.cfg
	if cfg.concurrency < 1 || cfg.concurrency > 10000 {
		return usagef("bench: --concurrency %d: want 1 to 10000", cfg.concurrency)
	}
	if cfg.count < 0 || cfg.rate < 0 || cfg.duration < 0 || (cfg.count == 0 && cfg.duration == 0) {
		return usagef("bench: want a positive --duration or --count (and --rate >= 0)")
	}
	return nil
}

// reach sets cfg.op (and the mode) to one emit of the event or one call of the method;
// done releases what it opened.
func (bf *benchFlags) reach(ctx context.Context, g *globals, target string, metaOpts []jesus.Option) (done func(), err error) {
	cfg := &bf.cfg
	if bf.isEvent {
		bus, em, done, err := g.emitBus(ctx, "bench", target, bf.from)
		if err != nil {
			return nil, err
		}
		cfg.mode = em.desc.Events[target].Mode
		cfg.op = func(ctx context.Context) (uint64, error) {
			res, err := events.Emit[any](ctx, bus, target, cfg.req)
			if err == nil && len(res.Acked)+len(res.Sent) == 0 {
				err = jesus.NewError(jesus.CodeUnavailable, "no service listens to "+target)
			}
			return 0, err
		}
		return done, nil
	}
	svc, method, _ := strings.Cut(target, ".")
	cl, mode, done, err := bf.o.client(ctx, g, "bench", svc, method, bf.chName, cfg.mode, metaOpts)
	if err != nil {
		return nil, err
	}
	cfg.mode = mode
	cfg.op = func(ctx context.Context) (uint64, error) { return benchOnce(ctx, cl, *cfg) }
	return done, nil
}

// report prints res (--json: one JSON document); the error says when calls failed.
func (bf *benchFlags) report(w io.Writer, res benchResult) error {
	if bf.asJSON {
		if err := writeJSONLine(w, res); err != nil {
			return withCode(ExitFailure, err)
		}
	} else {
		printBench(w, res)
	}
	if res.Errors > 0 {
		return withCode(ExitFailure, fmt.Errorf("bench %s: %d of %d calls failed; first: %s", res.Method, res.Errors, res.Calls+res.Errors, res.FirstError))
	}
	if res.Calls == 0 {
		return withCode(ExitFailure, fmt.Errorf("bench %s: no call completed", res.Method))
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func benchWarmUp(ctx context.Context, cfg benchConfig) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.callTimeout)
	defer cancel()
	_, err := cfg.op(ctx)
	return err
}

// benchOnce makes one call; it returns the number of stream items received.
func benchOnce(ctx context.Context, cl *jesus.Client, cfg benchConfig) (uint64, error) {
	switch cfg.mode {
	case jesus.ModeStream:
		var n uint64
		for _, err := range jesus.Stream[any, any](ctx, cl, cfg.method, cfg.req) {
			if err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	case jesus.ModeResponse:
		var out any
		return 0, cl.Invoke(ctx, cfg.method, cfg.mode, cfg.req, &out)
	}
	return 0, cl.Invoke(ctx, cfg.method, cfg.mode, cfg.req, nil)
}

// benchWorker is one caller's tally; merged once it is done.
type benchWorker struct {
	hist   *histogram
	errs   map[string]uint64
	first  string
	firstT time.Time
	items  uint64
}

func runBench(ctx context.Context, cfg benchConfig, progress io.Writer) benchResult {
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	var issued, finished atomic.Int64
	start := time.Now()
	var interval time.Duration
	if cfg.rate > 0 {
		interval = time.Duration(float64(time.Second) / cfg.rate)
	}
	workers := make([]*benchWorker, cfg.concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := &benchWorker{hist: newHistogram(), errs: map[string]uint64{}}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx, cfg, &issued, &finished, start, interval)
		}()
	}
	stopProgress := startProgress(progress, cfg, start, &finished)
	wg.Wait()
	stopProgress()
	elapsed := time.Since(start)

	total := newHistogram()
	res := benchResult{Method: cfg.method, Mode: cfg.mode.String(), Concurrency: cfg.concurrency, Rate: cfg.rate, Elapsed: elapsed, ErrorCodes: map[string]uint64{}}
	var firstT time.Time
	for _, w := range workers {
		total.merge(w.hist)
		res.Items += w.items
		for code, n := range w.errs {
			res.ErrorCodes[code] += n
			res.Errors += n
		}
		if w.first != "" && (firstT.IsZero() || w.firstT.Before(firstT)) {
			firstT, res.FirstError = w.firstT, w.first
		}
	}
	if len(res.ErrorCodes) == 0 {
		res.ErrorCodes = nil
	}
	res.Calls = total.n
	if elapsed > 0 {
		res.PerSecond = float64(res.Calls) / elapsed.Seconds()
	}
	res.Latency = map[string]int64{
		"min": int64(total.min), "mean": int64(total.mean()), "max": int64(total.max),
		"p50": int64(total.quantile(0.50)), "p90": int64(total.quantile(0.90)),
		"p99": int64(total.quantile(0.99)), "p999": int64(total.quantile(0.999)),
	}
	res.Histogram = total.rows(10)
	return res
}

func (w *benchWorker) run(ctx context.Context, cfg benchConfig, issued, finished *atomic.Int64, start time.Time, interval time.Duration) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for !ended(ctx) {
		k := issued.Add(1)
		if cfg.count > 0 && k > cfg.count {
			return
		}
		if interval > 0 {
			// Call k is due at start + (k-1)*interval, whoever makes it.
			if wait := time.Until(start.Add(time.Duration(k-1) * interval)); wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				}
			}
		}
		cctx, cancel := context.WithTimeout(ctx, cfg.callTimeout)
		t0 := time.Now()
		items, err := cfg.op(cctx)
		took := time.Since(t0)
		cancel()
		w.items += items
		if err != nil {
			if ended(ctx) {
				return // the run ended during the call: it does not count
			}
			code := string(jesus.CodeOf(err))
			w.errs[code]++
			if w.first == "" {
				w.first, w.firstT = strings.TrimPrefix(err.Error(), "jesus: "), time.Now()
			}
		} else {
			w.hist.add(took)
		}
		finished.Add(1)
	}
}

// ended tells whether the run is over: canceled, or its deadline passed (a client refuses
// a call whose deadline passed before the context's timer marks it done).
func ended(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// startProgress draws a progress bar on w (nil: none) until the returned stop is called.
func startProgress(w io.Writer, cfg benchConfig, start time.Time, finished *atomic.Int64) (stop func()) {
	if w == nil {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
				done := finished.Load()
				el := time.Since(start)
				frac := 0.0
				if cfg.duration > 0 {
					frac = el.Seconds() / cfg.duration.Seconds()
				}
				if cfg.count > 0 {
					frac = max(frac, float64(done)/float64(cfg.count))
				}
				frac = min(frac, 1)
				const width = 30
				bar := strings.Repeat("=", int(frac*width)) + strings.Repeat(" ", width-int(frac*width))
				fmt.Fprintf(w, "\r[%s] %3.0f%% %d calls, %.0f/s", bar, frac*100, done, float64(done)/el.Seconds())
			}
		}
	}()
	return func() {
		close(quit)
		wg.Wait()
	}
}

func printBench(w io.Writer, r benchResult) {
	rate := ""
	if r.Rate > 0 {
		rate = fmt.Sprintf(", rate %.0f/s", r.Rate)
	}
	fmt.Fprintf(w, "bench %s: mode %s, concurrency %d%s\n", r.Method, r.Mode, r.Concurrency, rate)
	fmt.Fprintf(w, "  %d calls in %v: %.0f calls/s", r.Calls, r.Elapsed.Round(time.Millisecond), r.PerSecond)
	if r.Items > 0 {
		fmt.Fprintf(w, ", %d stream items (%.0f/s)", r.Items, float64(r.Items)/r.Elapsed.Seconds())
	}
	fmt.Fprintln(w)
	if r.Errors > 0 {
		codes := make([]string, 0, len(r.ErrorCodes))
		for c, n := range r.ErrorCodes {
			codes = append(codes, fmt.Sprintf("%s %d", c, n))
		}
		sort.Strings(codes)
		fmt.Fprintf(w, "  errors: %d (%s)\n", r.Errors, strings.Join(codes, ", "))
	}
	if r.Calls == 0 {
		return
	}
	d := func(k string) time.Duration { return time.Duration(r.Latency[k]).Round(time.Microsecond / 10) }
	fmt.Fprintf(w, "  latency: p50 %v  p90 %v  p99 %v  p99.9 %v  (min %v, mean %v, max %v)\n",
		d("p50"), d("p90"), d("p99"), d("p999"), d("min"), d("mean"), d("max"))
	var most uint64
	for _, row := range r.Histogram {
		most = max(most, row.Count)
	}
	for _, row := range r.Histogram {
		n := int(row.Count * 40 / most)
		if row.Count > 0 && n == 0 {
			n = 1
		}
		fmt.Fprintf(w, "  <= %-10v %-40s %d\n", row.LE.Round(time.Microsecond/10), strings.Repeat("#", n), row.Count)
	}
}
