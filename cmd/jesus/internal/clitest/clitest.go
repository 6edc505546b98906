// Package clitest runs jesus command lines in-process for the tests of the CLI and of the
// README: output buffers a test can read and wait on while a command writes, and
// commands that run in the background until they end or are stopped.
package clitest

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
)

// Buffer is a bytes.Buffer safe for a command writing while the test reads, which can
// wait for a text to appear.
type Buffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	wake chan struct{}
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wake != nil {
		close(s.wake)
		s.wake = nil
	}
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WaitFor waits until the buffer contains text; after 30 s it fails t.
func (s *Buffer) WaitFor(t testing.TB, text string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		wake, ok := s.changed(text)
		if ok {
			return
		}
		select {
		case <-wake:
		case <-timeout:
			t.Fatalf("timed out waiting for %q in:\n%s", text, s.String())
		}
	}
}

// changed reports whether the buffer contains text, and otherwise returns a channel
// closed by the next write.
func (s *Buffer) changed(text string) (<-chan struct{}, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.Contains(s.b.String(), text) {
		return nil, true
	}
	if s.wake == nil {
		s.wake = make(chan struct{})
	}
	return s.wake, false
}

// Cmd is a command line running in-process in the background, until it ends by itself
// or is stopped. Out and Err are its stdout and stderr.
type Cmd struct {
	Args     []string
	Out, Err Buffer
	cancel   context.CancelFunc
	done     chan struct{}
	code     int
}

// Start runs args in the background under ctx, with stdin and the environment getenv
// (nil: an empty one). The end of t stops it.
func Start(ctx context.Context, t testing.TB, stdin string, getenv func(string) string, args ...string) *Cmd {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	ctx, cancel := context.WithCancel(ctx)
	c := &Cmd{Args: args, cancel: cancel, done: make(chan struct{})}
	env := cli.Env{Stdin: strings.NewReader(stdin), Stdout: &c.Out, Stderr: &c.Err, Getenv: getenv}
	go func() {
		defer close(c.done)
		c.code = cli.Main(ctx, args, env)
	}()
	t.Cleanup(func() { c.Stop() })
	return c
}

// Done is closed when the command has ended.
func (c *Cmd) Done() <-chan struct{} { return c.done }

// Wait waits until the command ends and returns its exit code.
func (c *Cmd) Wait() int {
	<-c.done
	return c.code
}

// Stop ends the command's context and returns its exit code.
func (c *Cmd) Stop() int {
	c.cancel()
	return c.Wait()
}

// StopWant stops the command; t fails unless it exited with code.
func (c *Cmd) StopWant(t testing.TB, code int) {
	t.Helper()
	if got := c.Stop(); got != code {
		t.Errorf("jesus %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(c.Args, " "), got, code, c.Out.String(), c.Err.String())
	}
}
