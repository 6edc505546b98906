package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
	"github.com/spf13/cobra"
)

// newOpsCmds returns the operating commands: ls, ping, info, stats, describe, dashboard.
func newOpsCmds(g *globals) []*cobra.Command {
	return []*cobra.Command{newTopLsCmd(g), newAPICmd(g, jesus.APIPing), newAPICmd(g, jesus.APIInfo),
		newAPICmd(g, jesus.APIStats), newDescribeCmd(g), newDashboardCmd(g)}
}

func newTopLsCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List services with their versions and live instances (id, version, endpoints)",
		Args:  argsBetween(0, 0),
		RunE: func(c *cobra.Command, _ []string) error {
			cn, cache, err := g.watch(c.Context(), "ls")
			if err != nil {
				return err
			}
			defer cn.Close()
			defer cache.Close()
			if asJSON {
				for _, s := range cache.Services() {
					row := struct {
						Service   string              `json:"service"`
						Versions  []string            `json:"versions"`
						Instances []registry.Instance `json:"instances"`
					}{s, nonNil(cache.Versions(s)), sortedInstances(cache, s)}
					if err := writeJSONLine(g.env.Stdout, row); err != nil {
						return withCode(ExitFailure, err)
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(g.env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERVICE\tVERSIONS\tINSTANCE\tVERSION\tUP\tENDPOINTS")
			for _, s := range cache.Services() {
				vers := strings.Join(cache.Versions(s), " ")
				ins := sortedInstances(cache, s)
				if len(ins) == 0 {
					fmt.Fprintf(tw, "%s\t%s\t-\t\t\t\n", s, vers)
				}
				for i, in := range ins {
					name := s
					if i > 0 {
						name, vers = "", ""
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, vers, in.ID, in.Version,
						time.Since(in.StartedAt).Round(time.Second), endpointList(in.Endpoints))
				}
			}
			return withCode(ExitFailure, tw.Flush())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per service and line")
	return cmd
}

func sortedInstances(cache *registry.Cache, svc string) []registry.Instance {
	ins := nonNilInst(cache.Instances(svc))
	sort.Slice(ins, func(i, j int) bool { return ins[i].ID < ins[j].ID })
	return ins
}

func endpointList(eps map[string]string) string {
	names := make([]string, 0, len(eps))
	for n := range eps {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		names[i] = n + "=" + eps[n]
	}
	return strings.Join(names, " ")
}

// watch opens the registry and its watch-fed cache; errors carry exit codes.
func (g *globals) watch(ctx context.Context, what string) (*conn, *registry.Cache, error) {
	cn, err := g.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	cache, err := cn.reg.Watch(ctx)
	if err != nil {
		cn.Close()
		return nil, nil, registryErr(fmt.Errorf("%s: %w", what, err))
	}
	return cn, cache, nil
}

// answer is one instance's reply to a service API call.
type answer struct {
	inst     registry.Instance
	endpoint string
	rtt      time.Duration
	raw      json.RawMessage
	err      error
}

// replyEndpoint picks the instance endpoint a response-mode call can use: tcp, unix,
// then http (udp carries no replies).
func replyEndpoint(in registry.Instance) (string, bool) {
	best, rank := "", 99
	for _, ep := range in.Endpoints {
		sp, err := channel.ParseSpec(ep)
		if err != nil {
			continue
		}
		r := map[string]int{"tcp": 0, "unix": 1, "http": 2}[sp.Transport]
		if sp.Transport == "udp" {
			continue
		}
		if r < rank || (r == rank && ep < best) {
			best, rank = ep, r
		}
	}
	return best, best != ""
}

// askAll calls api on every live instance of svc at once, each within timeout.
func askAll(ctx context.Context, cache *registry.Cache, svc, api string, timeout time.Duration) []answer {
	ins := sortedInstances(cache, svc)
	out := make([]answer, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		out[i].inst = in
		ep, ok := replyEndpoint(in)
		if !ok {
			out[i].err = fmt.Errorf("instance %s has no endpoint that carries replies (tcp, unix, http)", in.ID)
			continue
		}
		out[i].endpoint = ep
		wg.Go(func() {
			cl := jesus.NewClient(cliService, jesus.WithTarget(ep))
			defer cl.Close()
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			start := time.Now()
			var raw any
			err := cl.Invoke(cctx, svc+"."+api, jesus.ModeResponse, nil, &raw)
			out[i].rtt = time.Since(start)
			if err != nil {
				out[i].err = err
				return
			}
			out[i].raw, out[i].err = json.Marshal(jsonReady(raw))
		})
	}
	wg.Wait()
	return out
}

// jsonReady turns what msgpack decodes into any (maps with any keys) into what
// encoding/json can write.
func jsonReady(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonReady(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonReady(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = jsonReady(e)
		}
		return x
	}
	return v
}

func newAPICmd(g *globals, api string) *cobra.Command {
	var timeout time.Duration
	var asJSON bool
	name := strings.TrimPrefix(api, "$")
	short := map[string]string{
		"ping":  "Ping every live instance of a service: id, version, uptime, round trip",
		"info":  "Show every live instance's methods (modes, channels) and endpoints",
		"stats": "Show every live instance's per-method requests, errors, avg and p99 time, last error",
	}[name]
	cmd := &cobra.Command{
		Use:   name + " SERVICE",
		Short: short,
		Long: short + `.
The answers come from the service API every jesus server serves on its own channels
(` + api + `, see PROTOCOL.md §14), asked of all instances at once over one endpoint of each
that carries replies (tcp, unix or http). --json prints each instance's answer as one
JSON line. Exits 4 when no instance answered.`,
		Args: argsBetween(1, 1),
		RunE: func(c *cobra.Command, args []string) error {
			svc := args[0]
			if !registry.ValidService(svc) {
				return usagef("%s: %q is not a service name", name, svc)
			}
			cn, cache, err := g.watch(c.Context(), name)
			if err != nil {
				return err
			}
			defer cn.Close()
			defer cache.Close()
			if len(cache.Versions(svc)) == 0 && len(cache.Instances(svc)) == 0 {
				return withCode(ExitFailure, fmt.Errorf("%s: no service %q in the registry (%s); see jesus ls", name, svc, cn.where))
			}
			answers := askAll(c.Context(), cache, svc, api, timeout)
			if len(answers) == 0 {
				return withCode(ExitUnavailable, fmt.Errorf("%s: %s has no live instance", name, svc))
			}
			ok := 0
			for _, a := range answers {
				if a.err != nil {
					fmt.Fprintf(g.env.Stderr, "%s: %s instance %s (%s): %v\n", name, svc, a.inst.ID, a.endpoint, a.err)
					continue
				}
				ok++
			}
			if err := printAnswers(g.env.Stdout, api, answers, asJSON); err != nil {
				return withCode(ExitFailure, err)
			}
			if ok == 0 {
				return withCode(ExitUnavailable, fmt.Errorf("%s: no instance of %s answered", name, svc))
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for each instance")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each answer as one JSON line")
	return cmd
}

func printAnswers(w io.Writer, api string, answers []answer, asJSON bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	switch {
	case asJSON:
		for _, a := range answers {
			if a.err == nil {
				if _, err := w.Write(append(a.raw, '\n')); err != nil {
					return err
				}
			}
		}
		return nil
	case api == jesus.APIPing:
		fmt.Fprintln(tw, "INSTANCE\tVERSION\tUPTIME\tRTT\tENDPOINT")
		for _, a := range answers {
			var p jesus.Ping
			if a.err != nil || json.Unmarshal(a.raw, &p) != nil {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.ID, p.Version, p.Uptime, a.rtt.Round(time.Microsecond), a.endpoint)
		}
	case api == jesus.APIInfo:
		for _, a := range answers {
			var in jesus.Info
			if a.err != nil || json.Unmarshal(a.raw, &in) != nil {
				continue
			}
			fmt.Fprintf(tw, "%s@%s\tinstance %s\tup %s\n", in.Service, in.Version, in.ID, in.Uptime)
			fmt.Fprintf(tw, "  ENDPOINTS\t%s\n", endpointList(in.Endpoints))
			fmt.Fprintln(tw, "  METHOD\tMODES\tCHANNEL")
			for _, m := range in.Methods {
				fmt.Fprintf(tw, "  %s\t%s\t%s\n", m.Name, strings.Join(m.Modes, ","), m.Channel)
			}
		}
	default:
		fmt.Fprintln(tw, "INSTANCE\tMETHOD\tREQUESTS\tERRORS\tAVG\tP99\tLAST ERROR")
		for _, a := range answers {
			var st jesus.Stats
			if a.err != nil || json.Unmarshal(a.raw, &st) != nil {
				continue
			}
			for _, m := range st.Methods {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", short(st.ID), m.Name, m.Requests, m.Errors,
					time.Duration(m.AvgNanos).Round(time.Microsecond), time.Duration(m.P99Nanos).Round(time.Microsecond), m.LastError)
			}
		}
	}
	return tw.Flush()
}

// short is the first 8 characters of an instance id, as tables show it.
func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func newDescribeCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "describe SERVICE.METHOD",
		Short: "Show a method's mode, channel, request and response schemas, and an example request",
		Long: `describe prints what the latest published descriptor of SERVICE says of METHOD: its
mode, its channel (name and spec), the request and response schemas (for a stream
method, the schema of one item) with their references resolved, and one example
request generated from the request schema and checked against it.

Example:
  jesus describe orders.create`,
		Args: argsBetween(1, 1),
		RunE: func(c *cobra.Command, args []string) error {
			svc, method, ok := strings.Cut(args[0], ".")
			if !ok || svc == "" || method == "" {
				return usagef("describe: %q is not SERVICE.METHOD", args[0])
			}
			cn, cache, err := g.watch(c.Context(), "describe")
			if err != nil {
				return err
			}
			defer cn.Close()
			defer cache.Close()
			d, err := describe(cache, svc, method)
			if err != nil {
				return withCode(ExitFailure, fmt.Errorf("describe: %w", err))
			}
			if asJSON {
				return withCode(ExitFailure, writeJSONLine(g.env.Stdout, d))
			}
			return withCode(ExitFailure, d.print(g.env.Stdout))
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the description as one JSON object")
	return cmd
}

// description is what describe prints.
type description struct {
	Method       string `json:"method"`
	Version      string `json:"version"`
	Mode         string `json:"mode"`
	Channel      string `json:"channel"`
	Spec         string `json:"spec,omitempty"`
	Request      any    `json:"request"`
	Response     any    `json:"response,omitempty"`
	Example      any    `json:"example"`
	ExampleValid bool   `json:"exampleValid"`
	ExampleNote  string `json:"exampleNote,omitempty"`
}

func describe(cache *registry.Cache, svc, method string) (*description, error) {
	ver, doc, ok := cache.Latest(svc)
	if !ok {
		return nil, fmt.Errorf("no service %q in the registry; see jesus ls", svc)
	}
	d, err := schema.Parse(svc+"@"+ver+".json", doc)
	if err != nil {
		return nil, fmt.Errorf("%s@%s: %w", svc, ver, err)
	}
	ep, err := methodOf(d, svc+"@"+ver, method)
	if err != nil {
		return nil, err
	}
	var raw map[string]any
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, fmt.Errorf("%s@%s: %w", svc, ver, err)
	}
	out := &description{Method: svc + "." + method, Version: ver, Mode: ep.Mode.String(), Channel: ep.Channel}
	if chs, ok := raw["channels"].(map[string]any); ok {
		out.Spec = channelSpec(chs[ep.Channel])
	}
	m, _ := raw["methods"].(map[string]any)[method].(map[string]any)
	r := resolver{root: raw}
	out.Request = r.inline(m["request"], 0)
	if res, ok := m["response"]; ok {
		out.Response = r.inline(res, 0)
	}
	ex, exErr := exampleOf(raw, m["request"])
	out.Example = ex
	disc := discovery.New(cache)
	defer disc.Close()
	switch v := disc.RequestValidator(out.Method); {
	case exErr != nil:
		out.ExampleNote = exErr.Error()
	case v == nil:
		out.ExampleNote = "the method has no request schema to check the example against"
	default:
		if err := v.Validate(ex); err != nil {
			out.ExampleNote = "the generated example fails the schema: " + err.Error()
		} else {
			out.ExampleValid = true
		}
	}
	return out, nil
}

// channelSpec is the spec string of a descriptor's channel, in either of its forms.
func channelSpec(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		s := fmt.Sprint(x["transport"])
		if ser, ok := x["serializer"].(string); ok {
			s += "+" + ser
		}
		if cmp, ok := x["compressor"].(string); ok && cmp != "none" {
			s += "+" + cmp
		}
		return s
	}
	return ""
}

func (d *description) print(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s@%s)\n  mode:     %s\n  channel:  %s", d.Method, strings.SplitN(d.Method, ".", 2)[0], d.Version, d.Mode, d.Channel)
	if d.Spec != "" {
		fmt.Fprintf(&b, " (%s)", d.Spec)
	}
	b.WriteString("\n")
	for _, part := range []struct {
		name string
		v    any
	}{{"request", d.Request}, {"response", d.Response}} {
		if part.v == nil {
			continue
		}
		js, err := json.MarshalIndent(part.v, "  ", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "\n%s schema:\n  %s\n", part.name, js)
	}
	js, err := json.MarshalIndent(d.Example, "  ", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(&b, "\nexample request:\n  %s\n", js)
	if !d.ExampleValid {
		fmt.Fprintf(&b, "  (%s)\n", d.ExampleNote)
	} else {
		b.WriteString("  (valid against the request schema)\n")
	}
	_, err = io.WriteString(w, b.String())
	return err
}

var errNoSchema = errors.New("the method has no request schema")
