package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
	"github.com/spf13/cobra"
)

// loaded is one argument of lint, push or check: a directory, or a file loaded with the
// shared fragments of its directory.
type loaded struct {
	path  string
	set   *schema.Set
	descs []*schema.Descriptor // the descriptors the argument names (a file: one)
}

// loadPath loads a directory of descriptors, or one descriptor file together with the
// fragment files (no top-level "service") of its directory, which it may reference.
func loadPath(p string) (loaded, error) {
	st, err := os.Stat(p)
	if err != nil {
		return loaded{path: p}, err
	}
	if st.IsDir() {
		set, err := schema.LoadDir(p)
		if err != nil {
			return loaded{path: p}, err
		}
		return loaded{path: p, set: set, descs: set.Services()}, nil
	}
	data, err := readLimited(p)
	if err != nil {
		return loaded{path: p}, err
	}
	set := schema.NewSet()
	dir := filepath.Dir(p)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || name == filepath.Base(p) || !strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".schema.json") {
			continue
		}
		b, err := readLimited(filepath.Join(dir, name))
		if err != nil || schema.IsDescriptor(b) {
			continue // only fragments come along; a bad one matters only if referenced
		}
		if err := set.Add(name, b); err != nil {
			return loaded{path: p}, err
		}
	}
	if err := set.Add(filepath.Base(p), data); err != nil {
		return loaded{path: p}, err
	}
	var descs []*schema.Descriptor
	for _, d := range set.Services() {
		if d.File == filepath.Base(p) {
			descs = append(descs, d)
		}
	}
	if len(descs) == 0 {
		return loaded{path: p}, fmt.Errorf("schema: %s is not a service descriptor (no top-level \"service\")", p)
	}
	return loaded{path: p, set: set, descs: descs}, nil
}

func readLimited(p string) ([]byte, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if st.Size() > schema.DefaultMaxFileSize {
		return nil, fmt.Errorf("schema: %s: %d bytes exceeds the max file size of %d bytes", p, st.Size(), schema.DefaultMaxFileSize)
	}
	return os.ReadFile(p)
}

func newSchemaCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Check, publish and read service descriptors",
		Args:  argsBetween(0, 0),
		RunE:  func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	cmd.AddCommand(newLintCmd(g), newPushCmd(g), newLsCmd(g), newShowCmd(g), newSchemaDiffCmd(g))
	return cmd
}

func newLintCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "lint DIR|FILE...",
		Short: "Check descriptor files against the meta-schema and the project's rules",
		Long: `lint loads every descriptor of each DIR (all *.json files; *.schema.json are
skipped), or each FILE with the shared fragments of its directory, checks them against
the descriptor meta-schema and the semantic rules (channels exist, modes have the right
schemas, no response over udp), and compiles every JSON Schema in them. It needs no etcd.

It prints one line per descriptor that is fine and every problem found (--json: one JSON
object per descriptor or failed argument); it exits 1 if there is any problem.`,
		Args: argsBetween(1, -1),
		RunE: func(c *cobra.Command, args []string) error {
			out := g.env.Stdout
			bad := 0
			for _, p := range args {
				l, err := loadPath(p)
				if err != nil {
					bad++
					if asJSON {
						if err := writeJSONLine(out, map[string]any{"path": p, "ok": false, "error": err.Error()}); err != nil {
							return withCode(ExitFailure, err)
						}
						continue
					}
					fmt.Fprintf(out, "FAIL %s\n", p)
					for _, line := range strings.Split(err.Error(), "\n") {
						fmt.Fprintf(out, "  %s\n", line)
					}
					continue
				}
				for _, d := range l.descs {
					file := filepath.Join(l.pathDir(), d.File)
					if asJSON {
						if err := writeJSONLine(out, map[string]any{"path": file, "ok": true, "service": d.Service, "version": d.Version}); err != nil {
							return withCode(ExitFailure, err)
						}
						continue
					}
					fmt.Fprintf(out, "ok   %s (%s)\n", d.ID(), file)
				}
			}
			if bad > 0 {
				return withCode(ExitFailure, fmt.Errorf("schema lint: %d of %d argument(s) failed", bad, len(args)))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per descriptor or failed argument")
	return cmd
}

func (l loaded) pathDir() string {
	if st, err := os.Stat(l.path); err == nil && st.IsDir() {
		return l.path
	}
	return filepath.Dir(l.path)
}

func newPushCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "push DIR|FILE...",
		Short: "Publish descriptors to the registry",
		Long: `push lints the descriptors (see "schema lint"), then publishes each one to the
registry as a self-contained bundle under its service and version. A published version
is immutable: pushing the same content again changes nothing, different content under a
published version is refused (exit 1). --json prints one JSON object per descriptor.`,
		Args: argsBetween(1, -1),
		RunE: func(c *cobra.Command, args []string) error {
			var all []*schema.Descriptor
			for _, p := range args {
				l, err := loadPath(p)
				if err != nil {
					return withCode(ExitFailure, fmt.Errorf("schema push: %s: %w", p, err))
				}
				all = append(all, l.descs...)
			}
			cn, err := g.open(c.Context())
			if err != nil {
				return err
			}
			defer cn.Close()
			var errs []error
			for _, d := range all {
				doc, err := d.Bundle()
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", d.ID(), err))
					continue
				}
				old, gerr := cn.reg.Descriptor(c.Context(), d.Service, d.Version)
				err = cn.reg.PublishDescriptor(c.Context(), d.Service, d.Version, doc)
				result, msg := "published", ""
				switch {
				case err != nil:
					result, msg = "failed", err.Error()
					errs = append(errs, err)
				case gerr == nil && old != nil:
					result = "unchanged"
				}
				if asJSON {
					row := map[string]any{"service": d.Service, "version": d.Version, "result": result}
					if msg != "" {
						row["error"] = msg
					}
					if err := writeJSONLine(g.env.Stdout, row); err != nil {
						return withCode(ExitFailure, err)
					}
					continue
				}
				if result == "failed" {
					fmt.Fprintf(g.env.Stdout, "FAIL      %s: %s\n", d.ID(), msg)
				} else {
					fmt.Fprintf(g.env.Stdout, "%-9s %s\n", result, d.ID())
				}
			}
			if len(errs) > 0 {
				return registryErr(fmt.Errorf("schema push: %w", errors.Join(errs...)))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per descriptor: service, version, result (published, unchanged, failed)")
	return cmd
}

func newLsCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List services, their published versions and live instances",
		Args:  argsBetween(0, 0),
		RunE: func(c *cobra.Command, _ []string) error {
			cn, cache, err := g.watch(c.Context(), "schema ls")
			if err != nil {
				return err
			}
			defer cn.Close()
			defer cache.Close()
			type row struct {
				Service   string              `json:"service"`
				Versions  []string            `json:"versions"`
				Instances []registry.Instance `json:"instances"`
			}
			var rows []row
			for _, s := range cache.Services() {
				rows = append(rows, row{s, nonNil(cache.Versions(s)), nonNilInst(cache.Instances(s))})
			}
			if asJSON {
				for _, r := range rows {
					if err := writeJSONLine(g.env.Stdout, r); err != nil {
						return withCode(ExitFailure, err)
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(g.env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SERVICE\tVERSIONS\tINSTANCES")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%d\n", r.Service, strings.Join(r.Versions, " "), len(r.Instances))
			}
			return withCode(ExitFailure, tw.Flush())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per service and line")
	return cmd
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilInst(s []registry.Instance) []registry.Instance {
	if s == nil {
		return []registry.Instance{}
	}
	return s
}

func newShowCmd(g *globals) *cobra.Command {
	var instances bool
	var method string
	cmd := &cobra.Command{
		Use:   "show SERVICE[@VERSION] | SERVICE.METHOD",
		Short: "Print a published descriptor (default: the latest version), or one method of it",
		Long: `show prints a published descriptor as indented JSON: the latest version, or the
one named. SERVICE.METHOD (or --method) prints only that method: its mode, channel and
request and response schemas with every $ref replaced by what it points to.`,
		Args: argsBetween(1, 1),
		RunE: func(c *cobra.Command, args []string) error {
			arg := args[0]
			if svc, m, ok := strings.Cut(arg, "."); ok && !strings.Contains(arg, "@") && method == "" {
				arg, method = svc, m
			}
			svc, ver, _ := strings.Cut(arg, "@")
			if !registry.ValidService(svc) {
				return usagef("schema show: %q is not a service name", svc)
			}
			cn, cache, err := g.watch(c.Context(), "schema show")
			if err != nil {
				return err
			}
			defer cn.Close()
			defer cache.Close()
			var doc []byte
			var ok bool
			if ver == "" {
				ver, doc, ok = cache.Latest(svc)
			} else {
				doc, ok = cache.Descriptor(svc, ver)
			}
			if !ok {
				known := cache.Versions(svc)
				if len(known) == 0 {
					return withCode(ExitFailure, fmt.Errorf("schema show: no service %q in the registry (%s)", svc, cn.where))
				}
				return withCode(ExitFailure, fmt.Errorf("schema show: %s has no version %q (published: %s)", svc, ver, strings.Join(known, ", ")))
			}
			if method != "" {
				out, err := showMethod(doc, svc, ver, method)
				if err != nil {
					return withCode(ExitFailure, fmt.Errorf("schema show: %w", err))
				}
				doc = out
			}
			var buf bytes.Buffer
			if err := json.Indent(&buf, doc, "", "  "); err != nil {
				return withCode(ExitFailure, fmt.Errorf("schema show: %s@%s: %w", svc, ver, err))
			}
			buf.WriteByte('\n')
			if _, err := g.env.Stdout.Write(buf.Bytes()); err != nil {
				return withCode(ExitFailure, err)
			}
			if instances {
				ins := cache.Instances(svc)
				sort.Slice(ins, func(i, j int) bool { return ins[i].ID < ins[j].ID })
				for _, in := range ins {
					if err := writeJSONLine(g.env.Stdout, in); err != nil {
						return withCode(ExitFailure, err)
					}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&method, "method", "", "print only this method, its schemas with $refs inlined")
	cmd.Flags().BoolVar(&instances, "instances", false, "also print the live instances, one JSON line each")
	return cmd
}

// writeJSONLine writes v as compact JSON and a newline.
func writeJSONLine(w interface{ Write([]byte) (int, error) }, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
