package cli

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/jesus-go/jesus/internal/jsonone"
	"github.com/jesus-go/jesus/jesus"
	"github.com/spf13/cobra"
)

// maxInput bounds the JSON a command reads from its argument or stdin.
const maxInput = 16 << 20

// cliService is the name the CLI calls, emits and listens as (Meta.From).
const cliService = "jesus-cli"

// readJSON decodes the JSON value of args[i], or of stdin when there is no such argument
// or it is "-", with numbers kept as json.Number. Anything but exactly one JSON value is ExitUsage.
func readJSON(args []string, i int, stdin io.Reader, what string) (any, error) {
	var data []byte
	src := "argument"
	if len(args) > i && args[i] != "-" {
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
	v, err := jsonone.Decode(data)
	if errors.Is(err, jsonone.ErrEmpty) {
		return nil, usagef("%s: no JSON given (as an argument or on stdin)", what)
	}
	if err != nil {
		return nil, usagef("%s: the %s %v", what, src, err)
	}
	return v, nil
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
	var o callOpts
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
  jesus call orders.submit '{"id":"o-1"}' --channel rpc --mode ack
  jesus call orders.get '{"id":"o-1"}' -H userid=ada -H traceparent=00-...-01
  jesus call orders.get - --target tcp+msgpack+zstd://127.0.0.1:4100 < ref.json

"-" as JSON reads the request from stdin. Modes are read in any letter case.
With --target the call goes straight to that channel, without etcd: the mode is --mode,
else the method's mode in --schemas, else response; only with --schemas are the request
and the reply checked.`,
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
				if mode, err = parseMode(modeFlag); err != nil {
					return usagef("call: --mode %q: want noResponse, ack, response or stream (any case)", modeFlag)
				}
			}
			ctx := c.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			ctx, metaOpts, err := o.meta(ctx)
			if err != nil {
				return err
			}
			cl, mode, done, err := o.client(ctx, g, "call", svc, method, chName, mode, metaOpts)
			if err != nil {
				return err
			}
			defer done()
			return o.invoke(ctx, cl, args[0], mode, req, g.env.Stdout, g.env.Stderr)
		},
	}
	cmd.Flags().StringVar(&modeFlag, "mode", "", "noResponse, ack, response or stream (default: the method's declared mode)")
	cmd.Flags().StringVar(&chName, "channel", "", "the receiver's channel to use, by name (default: the method's channel)")
	o.bind(cmd)
	o.sec.bind(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "deadline of the whole call, including reaching etcd (0: none, e.g. for a long stream)")
	return cmd
}
