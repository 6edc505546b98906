package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/jesus-go/jesus/schema/gogen"
	"github.com/spf13/cobra"
)

func newGenCmd(g *globals) *cobra.Command {
	return group("gen", "Generate code from descriptors", newGenGoCmd(g))
}

func newGenGoCmd(g *globals) *cobra.Command {
	var out, pkg string
	var services []string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "go DIR|FILE",
		Short: "Generate Go types, typed clients and server interfaces",
		Long: `gen go writes Go code for the descriptors of DIR (or one descriptor FILE with the
fragments of its directory): a type for every request, response, stream item and event
payload, and per service a typed client (NewXxxClient over a *jesus.Client) and a server
interface (XxxHandler) with RegisterXxx. A schema several files reach through $ref is one
shared type. Each source file gives one NAME.jesus.go in -o; older *.jesus.go files there
that the descriptors no longer produce are removed. The output is stable: regenerating
from the same descriptors changes nothing, so it fits a go:generate line:

  //go:generate jesus gen go -o . --package ordersapi ../schemas

Prints the files written, one per line (--json: one JSON object).`,
		Args: argsBetween(1, 1),
		RunE: func(c *cobra.Command, args []string) error {
			l, err := loadPath(args[0])
			if err != nil {
				return withCode(ExitFailure, fmt.Errorf("gen go: %w", err))
			}
			if pkg == "" {
				abs, _ := filepath.Abs(out)
				pkg = strings.Map(func(r rune) rune {
					if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
						return r
					}
					return -1
				}, strings.ToLower(filepath.Base(abs)))
			}
			files, err := gogen.Generate(l.set, gogen.Options{Package: pkg, Services: services, Source: filepath.ToSlash(args[0])})
			if err != nil {
				return usagef("gen go: %v", err)
			}
			written, err := writeGenerated(out, files)
			if err != nil {
				return withCode(ExitFailure, fmt.Errorf("gen go: %w", err))
			}
			if asJSON {
				return writeJSONLine(g.env.Stdout, map[string]any{"package": pkg, "files": written})
			}
			for _, f := range written {
				fmt.Fprintln(g.env.Stdout, f)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", ".", "directory the Go files are written to (created if missing)")
	cmd.Flags().StringVar(&pkg, "package", "", "Go package name (default: the output directory's name)")
	cmd.Flags().StringSliceVar(&services, "service", nil, "only these services (repeatable; default: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the files written as one JSON object")
	return cmd
}

// writeGenerated writes files into dir, skipping files whose content is already there,
// and removes stale *.jesus.go files; it returns the paths of the files, sorted.
func writeGenerated(dir string, files map[string][]byte) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.jesus.go"))
	for _, p := range old {
		if _, keep := files[filepath.Base(p)]; !keep {
			if err := os.Remove(p); err != nil {
				return nil, err
			}
		}
	}
	var out []string
	for name, b := range files {
		p := filepath.Join(dir, name)
		if cur, err := os.ReadFile(p); err != nil || string(cur) != string(b) {
			if err := os.WriteFile(p, b, 0o644); err != nil {
				return nil, err
			}
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}
