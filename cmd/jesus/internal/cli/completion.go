package cli

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
	"github.com/spf13/cobra"
)

// completionTimeout bounds what a shell waits for candidates from etcd.
const completionTimeout = 2 * time.Second

// addCompletions gives the commands dynamic shell completion (cobra's completion command:
// jesus completion bash|zsh|fish|powershell): services, methods, events and versions from
// the registry, modes from the fixed set. Completion only asks an etcd that is already
// running (--etcd, JESUS_ETCD, or a jesus registry serve); it never starts one.
func addCompletions(root *cobra.Command, g *globals) {
	modes := func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"response\tone request, one response", "stream\tone request, 0..N items", "ack\tone request, an acknowledgement", "noResponse\tfire and forget"}, cobra.ShellCompDirectiveNoFileComp
	}
	methods := func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return g.complete(c.Context(), toComplete, func(d *schema.Descriptor) []string {
			var out []string
			for n, m := range d.Methods {
				out = append(out, d.Service+"."+n+"\t"+m.Mode.String()+" on channel "+m.Channel)
			}
			return out
		}), cobra.ShellCompDirectiveNoFileComp
	}
	events := func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return g.complete(c.Context(), toComplete, func(d *schema.Descriptor) []string {
			var out []string
			for n, e := range d.Events {
				out = append(out, n+"\temitted by "+d.Service+" ("+e.Mode.String()+")")
			}
			return out
		}), cobra.ShellCompDirectiveNoFileComp
	}
	services := func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return g.complete(c.Context(), toComplete, func(d *schema.Descriptor) []string {
			return []string{d.Service, d.Service + "@" + d.Version}
		}), cobra.ShellCompDirectiveNoFileComp
	}
	walk(root, func(c *cobra.Command) {
		switch c.CommandPath() {
		case "jesus call", "jesus bench":
			c.ValidArgsFunction = methods
		case "jesus emit":
			c.ValidArgsFunction = func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return events(c, args, toComplete)
			}
		case "jesus listen":
			c.ValidArgsFunction = events
		case "jesus schema show":
			c.ValidArgsFunction = services
		case "jesus schema diff":
			c.ValidArgsFunction = func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				cands, _ := services(c, args, toComplete)
				return cands, cobra.ShellCompDirectiveDefault // files too
			}
		}
		if c.Flags().Lookup("mode") != nil {
			_ = c.RegisterFlagCompletionFunc("mode", modes)
		}
	})
}

func walk(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, s := range c.Commands() {
		walk(s, f)
	}
}

// complete lists the candidates pick gives for the latest version of every published
// service (every version for versions), sorted, those that start with prefix.
func (g *globals) complete(ctx context.Context, prefix string, pick func(*schema.Descriptor) []string) []string {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	reg, _ := g.openRunning(ctx, completionTimeout)
	if reg == nil {
		return nil
	}
	defer reg.Close()
	svcs, err := reg.Services(ctx)
	if err != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range svcs {
		vs, err := reg.Versions(ctx, s)
		if err != nil {
			continue
		}
		for _, v := range vs {
			doc, err := reg.Descriptor(ctx, s, v)
			if err != nil {
				continue
			}
			d, err := schema.Parse(s+"@"+v+".json", doc)
			if err != nil {
				continue
			}
			for _, cand := range pick(d) {
				name, _, _ := strings.Cut(cand, "\t")
				if strings.HasPrefix(name, prefix) && !seen[name] {
					seen[name] = true
					out = append(out, cand)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// openRunning connects to an etcd that is already running (--etcd, JESUS_ETCD, or the one
// of a jesus registry serve on the data directory); nil when there is none. It also says
// where it looked, for messages.
func (g *globals) openRunning(ctx context.Context, timeout time.Duration) (*registry.Registry, string) {
	eps := g.endpoints()
	where := "etcd " + strings.Join(eps, ",")
	if len(eps) == 0 {
		dir, err := g.dir()
		if err != nil {
			return nil, "no data directory"
		}
		where = "no jesus registry serve on " + dir
		b, err := os.ReadFile(filepath.Join(dir, endpointFile))
		if err != nil || strings.TrimSpace(string(b)) == "" {
			return nil, where
		}
		eps = []string{strings.TrimSpace(string(b))}
		where = "etcd " + eps[0] + " (jesus registry serve, " + dir + ")"
	}
	reg, err := registry.Open(ctx, registry.Config{Endpoints: eps, DialTimeout: timeout, CallTimeout: timeout})
	if err != nil {
		return nil, where + " did not answer"
	}
	return reg, where
}
