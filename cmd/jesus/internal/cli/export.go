package cli

import (
	"fmt"
	"os"

	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/export"
	"github.com/spf13/cobra"
)

func newExportCmd(g *globals) *cobra.Command {
	return group("export", "Write AsyncAPI or OpenAPI documents of descriptors",
		newExportDocCmd(g, "asyncapi", "an AsyncAPI 3.0 document: servers from channels, channels and operations from methods and events, messages with their schemas", export.AsyncAPI),
		newExportDocCmd(g, "openapi", "an OpenAPI 3.1 document of the methods served on http channels: POST /{service}.{method}, bodies, meta headers and the error body", export.OpenAPI),
	)
}

// group is a command that only holds subcommands.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short}
	cmd.AddCommand(subs...)
	return cmd
}

func newExportDocCmd(g *globals, name, what string, gen func(*schema.Set, export.Options) ([]byte, error)) *cobra.Command {
	var out, title string
	var services []string
	cmd := &cobra.Command{
		Use:   name + " DIR|FILE",
		Short: "Print " + what,
		Long: `export ` + name + ` prints ` + what + `, from the descriptors of DIR (or one
descriptor FILE with the fragments of its directory), each service in its latest version.
The document is JSON, the same bytes for the same descriptors; -o writes it to a file.`,
		Args: argsBetween(1, 1),
		RunE: func(c *cobra.Command, args []string) error {
			l, err := loadPath(args[0])
			if err != nil {
				return withCode(ExitFailure, fmt.Errorf("export %s: %w", name, err))
			}
			doc, err := gen(l.set, export.Options{Services: services, Title: title})
			if err != nil {
				return usagef("export %s: %v", name, err)
			}
			if out != "" {
				if err := os.WriteFile(out, doc, 0o644); err != nil {
					return withCode(ExitFailure, fmt.Errorf("export %s: %w", name, err))
				}
				return nil
			}
			_, err = g.env.Stdout.Write(doc)
			return withCode(ExitFailure, err)
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "write the document to this file instead of stdout")
	cmd.Flags().StringVar(&title, "title", "", "the document's title (default: the services' names)")
	cmd.Flags().StringSliceVar(&services, "service", nil, "only these services (repeatable; default: all)")
	return cmd
}
