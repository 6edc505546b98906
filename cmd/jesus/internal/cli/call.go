package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
	"github.com/spf13/cobra"
)

// maxInput bounds the JSON a command reads from its argument or stdin.
const maxInput = 16 << 20

// cliService is the name the CLI calls, emits and listens as (Meta.From).
const cliService = "jesus-cli"

// readJSON decodes the JSON value of args[i], or of stdin when there is no such argument,
// with numbers kept as json.Number. Anything but exactly one JSON value is ExitUsage.
func readJSON(args []string, i int, stdin io.Reader, what string) (any, error) {
	var data []byte
	src := "argument"
	if len(args) > i {
		data = []byte(args[i])
	} else {
		src = "stdin"
		b, err := io.ReadAll(io.LimitReader(stdin, maxInput+1))
		if err != nil {
			return nil, usagef("%s: reading stdin: %v", what, err)
		}
		if len(b) > maxInput {
			return nil, usagef("%s: stdin holds more than %d bytes of JSON", what, maxInput)
		}
		data = b
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, usagef("%s: no JSON given (as an argument or on stdin)", what)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, usagef("%s: the %s is not valid JSON: %v", what, src, jsonErr(err, len(data)))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, usagef("%s: the %s holds more than one JSON value (offset %d)", what, src, dec.InputOffset())
	}
	return v, nil
}

// jsonErr names the byte offset of a decoding error; n is the input's length.
func jsonErr(err error, n int) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (offset %d)", se, se.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Sprintf("unexpected end of input (offset %d)", n)
	}
	return err.Error()
}

// callErr maps a jesus error to an exit code: unavailable and deadline_exceeded are
// ExitUnavailable, the rest ExitFailure.
func callErr(err error) error {
	if err == nil {
		return nil
	}
	switch jesus.CodeOf(err) {
	case jesus.CodeUnavailable, jesus.CodeDeadlineExceeded:
		return withCode(ExitUnavailable, err)
	}
	return withCode(ExitFailure, err)
}

func newCallCmd(g *globals) *cobra.Command {
	var modeFlag, chName string
	var timeout time.Duration
	var sec callerTLS
	cmd := &cobra.Command{
		Use:   "call SERVICE.METHOD [JSON]",
		Short: "Call a method of a live service",
		Long: `call sends JSON (the argument, or stdin when there is none) to SERVICE.METHOD.
The channel and instance come from the registry: the method's channel in the receiver's
latest descriptor (--channel picks another of its channels), a live instance round robin.
The request is validated against the receiver's schema before it is sent, and the
response or every stream item against it on receipt (bad_response: the receiver broke
its contract); a refusal names the JSON pointer of every failing value.

The mode is the method's declared one unless --mode says otherwise:
  response    prints the response as one JSON line
  stream      prints each item as a JSON line, as it arrives
  ack         prints nothing; exits 0 once the receiver accepted the request
  noResponse  prints nothing; exits 0 once the request was handed to the transport

Examples:
  jesus call orders.get '{"id":"o-1"}'
  echo '{"id":"o-1"}' | jesus call orders.watch
  jesus call orders.submit '{"id":"o-1"}' --channel rpc --mode ack`,
		Args: argsBetween(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			svc, method, ok := strings.Cut(args[0], ".")
			if !ok || svc == "" || method == "" {
				return usagef("call: %q is not SERVICE.METHOD", args[0])
			}
			req, err := readJSON(args, 1, g.env.Stdin, "call "+args[0])
			if err != nil {
				return err
			}
			var mode jesus.Mode
			if modeFlag != "" {
				if mode, err = channel.ParseMode(modeFlag); err != nil {
					return usagef("call: --mode %q: want noResponse, ack, response or stream", modeFlag)
				}
			}
			ctx := c.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			cn, err := g.open(ctx)
			if err != nil {
				return err
			}
			defer cn.Close()
			cache, err := cn.reg.Watch(ctx)
			if err != nil {
				return registryErr(fmt.Errorf("call: %w", err))
			}
			defer cache.Close()
			ver, doc, ok := cache.Latest(svc)
			if !ok {
				return withCode(ExitFailure, fmt.Errorf("call: no service %q in the registry (%s); see jesus schema ls", svc, cn.where))
			}
			d, err := schema.Parse(svc+"@"+ver+".json", doc)
			if err != nil {
				return withCode(ExitFailure, fmt.Errorf("call: %s@%s: %w", svc, ver, err))
			}
			ep, ok := d.Methods[method]
			if !ok {
				names := make([]string, 0, len(d.Methods))
				for m := range d.Methods {
					names = append(names, m)
				}
				sort.Strings(names)
				return withCode(ExitFailure, fmt.Errorf("call: %s@%s has no method %q (methods: %s)", svc, ver, method, strings.Join(names, ", ")))
			}
			if mode == 0 {
				mode = ep.Mode
			}
			if _, ok := d.Channels[chName]; chName != "" && !ok {
				return usagef("call: %s@%s has no channel %q", svc, ver, chName)
			}
			disc := discovery.New(cache)
			defer disc.Close()
			var res jesus.Resolver = disc
			if chName != "" {
				res = disc.OnChannel(chName)
			}
			opts, from, err := sec.options(disc)
			if err != nil {
				return err
			}
			cl := jesus.NewClient(from, append(opts, jesus.WithResolver(res), jesus.WithValidation(disc))...)
			defer cl.Close()
			start := time.Now()
			switch mode {
			case jesus.ModeStream:
				n := 0
				for item, err := range jesus.Stream[any, any](ctx, cl, args[0], req) {
					if err != nil {
						return callErr(err)
					}
					n++
					if err := writeJSONLine(g.env.Stdout, item); err != nil {
						return withCode(ExitFailure, fmt.Errorf("call: item %d: %w", n, err))
					}
				}
				fmt.Fprintf(g.env.Stderr, "%s: stream ended after %d item(s) in %v\n", args[0], n, time.Since(start).Round(time.Microsecond))
			case jesus.ModeResponse:
				var out any
				if err := cl.Invoke(ctx, args[0], mode, req, &out); err != nil {
					return callErr(err)
				}
				if err := writeJSONLine(g.env.Stdout, out); err != nil {
					return withCode(ExitFailure, fmt.Errorf("call: response: %w", err))
				}
			default:
				if err := cl.Invoke(ctx, args[0], mode, req, nil); err != nil {
					return callErr(err)
				}
				what := "acknowledged"
				if mode == jesus.ModeNoResponse {
					what = "sent (noResponse: no answer expected)"
				}
				fmt.Fprintf(g.env.Stderr, "%s: %s in %v\n", args[0], what, time.Since(start).Round(time.Microsecond))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&modeFlag, "mode", "", "noResponse, ack, response or stream (default: the method's declared mode)")
	cmd.Flags().StringVar(&chName, "channel", "", "the receiver's channel to use, by name (default: the method's channel)")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "deadline of the whole call, including reaching etcd (0: none, e.g. for a long stream)")
	sec.bind(cmd)
	return cmd
}
