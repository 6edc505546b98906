package cli_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/schema/registry/registrytest"

	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
	"github.com/jesus-go/jesus/cmd/jesus/internal/clitest"
	"github.com/jesus-go/jesus/cmd/jesus/internal/demo"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
)

// schemasDir is the repository's example descriptors.
var schemasDir = filepath.Join("..", "..", "..", "..", "schemas")

// leakCheck fails the test on goroutines left running after it.
var leakCheck = channeltest.CheckLeaks

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startCmd runs the command line in the background, with an empty environment and stdin,
// until it ends or is stopped (at the latest when the test ends).
func startCmd(t *testing.T, args ...string) *clitest.Cmd {
	t.Helper()
	return clitest.Start(ctxT(t), t, "", noEnv, args...)
}

// result is the outcome of one command run.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// jesusCmd runs the command line in-process, with an empty environment and stdin.
func jesusCmd(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb clitest.Buffer
	start := time.Now()
	code := cli.Main(ctxT(t), args, cli.Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: noEnv})
	return result{code, out.String(), errb.String(), time.Since(start)}
}

func noEnv(string) string { return "" }

// want fails t unless the command exited with code and its stdout has every text.
func (r result) want(t *testing.T, code int, stdoutHas ...string) {
	t.Helper()
	r.wantIn(t, code, "stdout", r.stdout, stdoutHas)
}

// wantErr fails t unless the command exited with code and its stderr has every text.
func (r result) wantErr(t *testing.T, code int, stderrHas ...string) {
	t.Helper()
	r.wantIn(t, code, "stderr", r.stderr, stderrHas)
}

func (r result) wantIn(t *testing.T, code int, name, out string, has []string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range has {
		if !strings.Contains(out, s) {
			t.Fatalf("%s lacks %q\nstdout:\n%s\nstderr:\n%s", name, s, r.stdout, r.stderr)
		}
	}
}

// etcd starts an embedded etcd in t.TempDir() and returns its endpoint and a registry.
func etcd(t *testing.T) (string, *registry.Registry, *registry.Cache) {
	e, reg, cache := registrytest.Start(t, 2*time.Second)
	return e.Endpoints()[0], reg, cache
}

// services starts the demo's example services registered in reg.
func services(t *testing.T, reg *registry.Registry, cache *registry.Cache) *demo.Services {
	t.Helper()
	set, err := schema.LoadDir(schemasDir)
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := demo.StartServices(ctxT(t), &demo.World{Set: set, Reg: reg, Cache: cache, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}
