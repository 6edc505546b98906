package cli_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/schema/registry/registrytest"

	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
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

// syncBuffer is a bytes.Buffer safe for a command writing while the test reads, which
// can wait for a text to appear.
type syncBuffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	wake chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wake != nil {
		close(s.wake)
		s.wake = nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the buffer contains text.
func (s *syncBuffer) waitFor(t *testing.T, text string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		s.mu.Lock()
		if strings.Contains(s.b.String(), text) {
			s.mu.Unlock()
			return
		}
		if s.wake == nil {
			s.wake = make(chan struct{})
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-timeout:
			t.Fatalf("timed out waiting for %q in:\n%s", text, s.String())
		}
	}
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
	var out, errb syncBuffer
	start := time.Now()
	code := cli.Main(ctxT(t), args, cli.Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: noEnv})
	return result{code, out.String(), errb.String(), time.Since(start)}
}

func noEnv(string) string { return "" }

func (r result) want(t *testing.T, code int, stdoutHas ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stdoutHas {
		if !strings.Contains(r.stdout, s) {
			t.Fatalf("stdout lacks %q:\n%s\nstderr:\n%s", s, r.stdout, r.stderr)
		}
	}
}

func (r result) wantErr(t *testing.T, code int, stderrHas ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stderrHas {
		if !strings.Contains(r.stderr, s) {
			t.Fatalf("stderr lacks %q:\n%s", s, r.stderr)
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
