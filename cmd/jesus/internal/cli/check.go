package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/compat"
	"github.com/spf13/cobra"
)

type checkFlags struct {
	live, asJSON, allowUnproven bool
}

func newCheckCmd(g *globals) *cobra.Command {
	var f checkFlags
	cmd := &cobra.Command{
		Use:   "check [DIR|FILE...]",
		Short: "Prove that services agree: calls, responses, events, modes and channels",
		Long: `check proves that the descriptors agree with each other: every call's request is
accepted by the receiver, every response (or stream item) is what the caller expects,
every emitted event is accepted by its listeners, and modes and channels match.

Offline (the default) it checks the descriptors of DIR|FILE... among themselves; no etcd
is needed. With --live it checks against the registry: with arguments, their descriptors
against the latest published version of every other service (as if they were deployed
now; only relations that involve them are reported); without, the latest versions in the
registry among themselves.

Exit status: 0 compatible, 1 incompatible, 2 cannot prove (0 with --allow-unproven),
5 a descriptor or fragment could not be loaded (nothing was checked); 3 and 4 as for every
command. The report names services, versions and the JSON pointer of each difference;
--json prints it as one JSON document for machines, and a load failure as
{"error":{"code":"invalid_descriptor","source":...,"message":...}}.`,
		RunE: func(c *cobra.Command, args []string) error {
			if !f.live && len(args) == 0 {
				return usagef("check needs DIR|FILE... or --live (see jesus check --help)")
			}
			return runCheck(c.Context(), g, f, args)
		},
	}
	cmd.Flags().BoolVar(&f.live, "live", false, "check against the registry's latest descriptors")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the report as JSON")
	cmd.Flags().BoolVar(&f.allowUnproven, "allow-unproven", false, "exit 0 when compatibility cannot be proven")
	return cmd
}

// loadError is a descriptor or fragment that could not be loaded: nothing was checked.
type loadError struct {
	source string // the path or service@version the document came from
	err    error
}

func (e *loadError) Error() string { return fmt.Sprintf("check: %s: %v", e.source, e.err) }
func (e *loadError) Unwrap() error { return e.err }

func runCheck(ctx context.Context, g *globals, f checkFlags, args []string) error {
	local, err := loadLocal(args)
	if err != nil {
		return checkLoadFailed(g, f, err)
	}
	descs := local
	localIDs := map[string]bool{}
	localSvc := map[string]bool{}
	for _, d := range local {
		localIDs[d.ID()] = true
		localSvc[d.Service] = true
	}
	if f.live {
		remote, err := loadLive(ctx, g, localSvc)
		if err != nil {
			return checkLoadFailed(g, f, err)
		}
		descs = append(descs, remote...)
	}
	rep := compat.CheckAll(descs)
	if f.live && len(local) > 0 {
		rep = involving(rep, localIDs)
	}
	if err := printReport(g, f, rep); err != nil {
		return err
	}
	code := rep.Verdict().ExitCode()
	if code == ExitUnproven && f.allowUnproven {
		code = ExitOK
	}
	if code != ExitOK {
		return silent{code}
	}
	return nil
}

// loadLocal loads the descriptors named on the command line.
func loadLocal(args []string) ([]*schema.Descriptor, error) {
	var out []*schema.Descriptor
	for _, p := range args {
		l, err := loadPath(p)
		if err != nil {
			return nil, &loadError{source: p, err: err}
		}
		for _, d := range l.descs {
			if _, err := d.Bundle(); err != nil {
				return nil, &loadError{source: d.ID(), err: err}
			}
			out = append(out, d)
		}
	}
	return out, nil
}

// loadLive loads the latest published descriptor of every service of the registry that
// skip does not name.
func loadLive(ctx context.Context, g *globals, skip map[string]bool) ([]*schema.Descriptor, error) {
	cn, cache, err := g.watch(ctx, "check")
	if err != nil {
		return nil, err
	}
	defer cn.Close()
	defer cache.Close()
	var out []*schema.Descriptor
	for _, svc := range cache.Services() {
		if skip[svc] {
			continue
		}
		ver, doc, ok := cache.Latest(svc)
		if !ok {
			continue
		}
		d, err := schema.Parse(svc+"@"+ver+".json", doc)
		if err != nil {
			return nil, &loadError{source: svc + "@" + ver + " in the registry", err: err}
		}
		out = append(out, d)
	}
	return out, nil
}

// checkLoadFailed turns a load failure into exit code 5 (and, with --json, a JSON error
// object on stdout); other errors (the registry unreachable, ...) keep their own codes.
func checkLoadFailed(g *globals, f checkFlags, err error) error {
	le, ok := err.(*loadError)
	if !ok {
		return err
	}
	if f.asJSON {
		b, _ := json.Marshal(map[string]any{"error": map[string]string{
			"code": "invalid_descriptor", "source": le.source, "message": oneLine(le.err.Error())}})
		fmt.Fprintf(g.env.Stdout, "%s\n", b)
	}
	return withCode(ExitInvalid, le)
}

// oneLine joins the lines of a multi-error message.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }

func printReport(g *globals, f checkFlags, rep compat.Report) error {
	if f.asJSON {
		b, err := rep.MarshalJSON()
		if err != nil {
			return withCode(ExitFailure, err)
		}
		fmt.Fprintf(g.env.Stdout, "%s\n", b)
		return nil
	}
	s := rep.String()
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	fmt.Fprint(g.env.Stdout, s)
	return nil
}

// involving keeps the items of rep that concern one of ids (service@version).
func involving(rep compat.Report, ids map[string]bool) compat.Report {
	var out compat.Report
	for _, it := range rep.Items {
		if ids[it.From] || ids[it.To] {
			out.Items = append(out.Items, it)
		}
	}
	return out
}
