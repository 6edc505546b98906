package cli

import (
	"fmt"
	"strings"

	"github.com/jesus-go/jesus/schema/compat"
	"github.com/spf13/cobra"
)

func newCheckCmd(g *globals) *cobra.Command {
	var live, asJSON, allowUnproven bool
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

Exit status: 0 compatible, 1 incompatible, 2 cannot prove (0 with --allow-unproven);
3 and 4 as for every command. The report names services, versions and the JSON pointer
of each difference; --json prints it as one JSON document for machines.`,
		RunE: func(c *cobra.Command, args []string) error {
			if !live && len(args) == 0 {
				return usagef("check needs DIR|FILE... or --live (see jesus check --help)")
			}
			var local []compat.Desc
			localIDs := map[string]bool{}
			localSvc := map[string]bool{}
			for _, p := range args {
				l, err := loadPath(p)
				if err != nil {
					return withCode(ExitFailure, fmt.Errorf("check: %s: %w", p, err))
				}
				for _, d := range l.descs {
					doc, err := d.Bundle()
					if err != nil {
						return withCode(ExitFailure, fmt.Errorf("check: %s: %w", d.ID(), err))
					}
					cd, err := compat.ParseDesc(doc)
					if err != nil {
						return withCode(ExitFailure, fmt.Errorf("check: %s: %w", d.ID(), err))
					}
					cd.File = d.Service + "@" + d.Version + ".json"
					local = append(local, cd)
					localIDs[cd.ID()] = true
					localSvc[cd.Service] = true
				}
			}
			descs := local
			if live {
				cn, err := g.open(c.Context())
				if err != nil {
					return err
				}
				defer cn.Close()
				cache, err := cn.reg.Watch(c.Context())
				if err != nil {
					return registryErr(fmt.Errorf("check: %w", err))
				}
				defer cache.Close()
				for _, svc := range cache.Services() {
					if localSvc[svc] {
						continue
					}
					ver, doc, ok := cache.Latest(svc)
					if !ok {
						continue
					}
					cd, err := compat.ParseDesc(doc)
					if err != nil {
						return withCode(ExitFailure, fmt.Errorf("check: %s@%s in the registry: %w", svc, ver, err))
					}
					cd.File = svc + "@" + ver + ".json"
					descs = append(descs, cd)
				}
			}
			rep := compat.CheckAll(descs)
			if live && len(local) > 0 {
				rep = involving(rep, localIDs)
			}
			if asJSON {
				b, err := rep.MarshalJSON()
				if err != nil {
					return withCode(ExitFailure, err)
				}
				fmt.Fprintf(g.env.Stdout, "%s\n", b)
			} else {
				s := rep.String()
				if !strings.HasSuffix(s, "\n") {
					s += "\n"
				}
				fmt.Fprint(g.env.Stdout, s)
			}
			code := rep.Verdict().ExitCode()
			if code == ExitUnproven && allowUnproven {
				code = ExitOK
			}
			if code != ExitOK {
				return silent{code}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&live, "live", false, "check against the registry's latest descriptors")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().BoolVar(&allowUnproven, "allow-unproven", false, "exit 0 when compatibility cannot be proven")
	return cmd
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
