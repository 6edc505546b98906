// Package cli is the command line of jesus: one cobra command tree (demo, registry serve,
// schema lint/push/ls/show/diff, call, emit, listen, check, bench, gen go, export) that
// runs in-process with its own standard streams, so tests drive it exactly as a shell
// does. Main maps every outcome to one of the documented exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes of every command (also in `jesus --help` and README.md).
const (
	ExitOK          = 0 // success; `check`: compatible
	ExitFailure     = 1 // the operation failed or was refused; `check`: incompatible; `demo`: a step misbehaved
	ExitUnproven    = 2 // `check` only: compatibility cannot be proven (see --allow-unproven)
	ExitUsage       = 3 // bad command line or input: unknown flag, wrong arguments, malformed JSON
	ExitUnavailable = 4 // the registry (etcd) or every instance of a service could not be reached in time
	ExitInvalid     = 5 // `check` only: a descriptor or fragment could not be loaded, so nothing was checked
)

const exitCodesHelp = `Exit codes:
  0  success (check: compatible)
  1  failure: the operation failed or was refused (check: incompatible; demo: a step misbehaved)
  2  check: cannot prove compatibility (0 with --allow-unproven)
  3  usage: unknown command or flag, wrong arguments, malformed JSON input
  4  unavailable: etcd or the service's instances could not be reached in time
  5  check: a descriptor or fragment could not be loaded (nothing was checked)`

// Env is what a command run sees of its process: arguments come from Main's caller,
// streams and environment from here, so tests run commands in-process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads the environment (JESUS_ETCD, JESUS_DATA); nil means os.Getenv.
	Getenv func(string) string
}

func (e *Env) getenv(k string) string {
	if e.Getenv == nil {
		return os.Getenv(k)
	}
	return e.Getenv(k)
}

// exitError carries an exit code through cobra's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err so that Main exits with code; nil stays nil.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

func usagef(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// silent is an error whose message was printed already; only its code matters.
type silent struct{ code int }

func (s silent) Error() string { return fmt.Sprintf("exit status %d", s.code) }

// Main runs the command line args (without the program name) and returns the exit code.
// Errors are printed to env.Stderr as "jesus: <message>".
func Main(ctx context.Context, args []string, env Env) int {
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	root := newRoot(&env)
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var s silent
	if errors.As(err, &s) {
		return s.code
	}
	// A message that already starts with "jesus: " (a *jesus.Error) is printed once.
	fmt.Fprintf(env.Stderr, "jesus: %s\n", strings.TrimPrefix(err.Error(), "jesus: "))
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// Errors cobra returns itself (unknown command or flag, wrong argument count).
	return ExitUsage
}

func newRoot(env *Env) *cobra.Command {
	g := &globals{env: env}
	root := &cobra.Command{
		Use:   "jesus",
		Short: "Schema-validated, multichannel communication for Go services",
		Long: `jesus is a schema-validated, multichannel communication layer for Go services.
Services declare their methods and events in JSON schema files shared through etcd;
this command publishes and checks those files, calls methods, emits and tails events,
and runs a demo of the whole thing on an embedded etcd.

Registry: --etcd (or JESUS_ETCD) names etcd endpoints, comma separated. Without them
a command uses the etcd of a running "jesus registry serve" on the data directory
(--data-dir, JESUS_DATA, default ` + defaultDataDirHelp + `), or starts an
embedded etcd in that directory for the duration of the command. For an etcd with
TLS or auth, --cacert, --cert, --key and --user name:password work as with etcdctl.

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetVersionTemplate("jesus {{.Version}}\n")
	g.bind(root)
	root.AddCommand(
		newDemoCmd(g),
		newRegistryCmd(g),
		newSchemaCmd(g),
		viaSidecar(g, newCallCmd(g)),
		viaSidecar(g, newEmitCmd(g)),
		newListenCmd(g),
		newCheckCmd(g),
		newSidecarCmd(g),
		newHubCmd(g),
		newGenCmd(g),
		newExportCmd(g),
		newBenchCmd(g),
	)
	root.AddCommand(newOpsCmds(g)...)
	addCompletions(root, g)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usagef("%v (see %s --help)", err, c.CommandPath())
	})
	return root
}

// exactArgs is cobra.ExactArgs with the usage exit code.
func argsBetween(min, max int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < min || (max >= 0 && len(args) > max) {
			want := fmt.Sprintf("%d", min)
			switch {
			case max < 0:
				want = fmt.Sprintf("at least %d", min)
			case max != min:
				want = fmt.Sprintf("%d to %d", min, max)
			}
			return usagef("%s takes %s argument(s), got %d (see %s --help)", c.CommandPath(), want, len(args), c.CommandPath())
		}
		return nil
	}
}
