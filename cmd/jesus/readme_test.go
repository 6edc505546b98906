package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
	"github.com/jesus-go/jesus/cmd/jesus/internal/clitest"
)

// shellWords splits a command line the way sh does for the README's commands: words
// separated by spaces, single-quoted strings kept whole, "# ..." comments dropped.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted:
			if c == '\'' {
				quoted = false
			} else {
				cur.WriteByte(c)
			}
		case c == '\'':
			quoted, inWord = true, true
		case c == '#' && !inWord:
			i = len(line)
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// readiness is what a background command of the README prints once it is ready.
var readiness = map[string]string{"registry": "export JESUS_ETCD=", "demo": "services stay up", "listen": "listening to"}

// outputsIn puts the file or directory of -o into dir, so that the README's commands
// write nothing into the repository.
func outputsIn(args []string, dir string) []string {
	out := append([]string(nil), args...)
	for i := 0; i+1 < len(out); i++ {
		if out[i] == "-o" || out[i] == "--out" {
			out[i+1] = filepath.Join(dir, out[i+1])
		}
	}
	return out
}

// TestReadmeCLI runs every command of the README's CLI section, in order, in-process:
// background commands (&) in goroutines, the others to completion with exit 0. The only
// changes: registry serve gets --listen 127.0.0.1:0 and demo --http 127.0.0.1:0, so that
// the test needs no fixed port;
// the data directory is a temporary one (JESUS_DATA); -o writes into a temporary
// directory. "go install ./cmd/jesus" is skipped: the commands run in-process.
func TestReadmeCLI(t *testing.T) {
	channeltest.CheckLeaks(t)
	t.Chdir("../..")
	data, outDir := t.TempDir(), t.TempDir()
	env := func(k string) string {
		if k == "JESUS_DATA" {
			return data
		}
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmds := readmeCommands(t, outDir)
	if len(cmds) < 10 {
		t.Fatalf("ran only %d README commands", len(cmds))
	}
	var jobs []*clitest.Cmd
	for _, c := range cmds {
		if c.background {
			jobs = append(jobs, startReady(ctx, t, c, env))
		} else {
			runToEnd(ctx, t, c, env)
		}
	}
	// listen --count N ends by itself once the emits arrived.
	for _, j := range jobs {
		if j.Args[0] != "listen" {
			continue
		}
		select {
		case <-j.Done():
			if code := j.Wait(); code != cli.ExitOK || strings.Count(j.Out.String(), "\n") < 2 {
				t.Fatalf("listen: exit %d, printed:\n%s%s", code, j.Out.String(), j.Err.String())
			}
			t.Logf("listen printed:\n%s", j.Out.String())
		case <-ctx.Done():
			t.Fatalf("listen did not get its events:\n%s%s", j.Out.String(), j.Err.String())
		}
	}
	for i := len(jobs) - 1; i >= 0; i-- {
		jobs[i].StopWant(t, cli.ExitOK) // after an interrupt
	}
}

// readmeCommand is one command of the README's CLI block, as the test runs it.
type readmeCommand struct {
	line       string
	args       []string // after "jesus"
	stdin      string
	background bool
}

// readmeCommands reads the README's CLI block (the one that starts a registry) into the
// jesus commands it runs, with the test's changes (see TestReadmeCLI); -o writes into
// outDir.
func readmeCommands(t *testing.T, outDir string) []readmeCommand {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var block string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		if strings.Contains(m[1], "jesus registry serve") {
			block = m[1]
		}
	}
	if block == "" {
		t.Fatal("README has no CLI block starting a registry")
	}
	var cmds []readmeCommand
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if c, ok := readmeLine(t, line); ok {
			c.args = outputsIn(c.args, outDir)
			cmds = append(cmds, c)
		}
	}
	return cmds
}

// readmeLine is the command of one line of the README's CLI block; not ok for the lines
// the test skips.
func readmeLine(t *testing.T, line string) (readmeCommand, bool) {
	c := readmeCommand{line: line}
	if l, r, ok := strings.Cut(line, " | "); ok {
		w := shellWords(l)
		if len(w) != 2 || w[0] != "echo" {
			t.Fatalf("unsupported pipeline %q", line)
		}
		c.stdin, line = w[1]+"\n", r
	}
	words := shellWords(line)
	c.background = len(words) > 0 && words[len(words)-1] == "&"
	if c.background {
		words = words[:len(words)-1]
	}
	if strings.Join(words, " ") == "go install ./cmd/jesus" {
		return c, false // the commands run in-process
	}
	switch {
	case len(words) >= 2 && words[0] == "jesus":
		c.args = words[1:]
	case len(words) >= 4 && strings.Join(words[:3], " ") == "go run ./cmd/jesus":
		c.args = words[3:]
	default:
		t.Fatalf("README command %q is not a jesus command", c.line)
	}
	if c.args[0] == "registry" {
		c.args = append(c.args, "--listen", "127.0.0.1:0")
	}
	for i := range c.args {
		if c.args[i] == "--http" && i+1 < len(c.args) {
			c.args[i+1] = "127.0.0.1:0" // a fixed port could be taken where the test runs
		}
	}
	return c, true
}

// runToEnd runs c to completion; it must exit 0.
func runToEnd(ctx context.Context, t *testing.T, c readmeCommand, env func(string) string) {
	var out, errOut clitest.Buffer
	start := time.Now()
	code := cli.Main(ctx, c.args, cli.Env{Stdin: strings.NewReader(c.stdin), Stdout: &out, Stderr: &errOut, Getenv: env})
	t.Logf("$ jesus %s   (exit %d, %v)\n%s%s", strings.Join(c.args, " "), code, time.Since(start).Round(time.Millisecond), out.String(), errOut.String())
	if code != cli.ExitOK {
		t.Fatalf("README command %q exited %d:\n%s%s", c.line, code, out.String(), errOut.String())
	}
}

// startReady starts c in the background and waits until it prints that it is ready.
func startReady(ctx context.Context, t *testing.T, c readmeCommand, env func(string) string) *clitest.Cmd {
	j := clitest.Start(ctx, t, c.stdin, env, c.args...)
	marker := readiness[c.args[0]]
	// Polling output (of two buffers), within what is left of ctx.
	deadline, _ := ctx.Deadline()
	channeltest.EventuallyState(t, time.Until(deadline), fmt.Sprintf("background command %q to be ready", c.line), func() (bool, string) {
		out := j.Out.String() + j.Err.String()
		if strings.Contains(out, marker) {
			return true, ""
		}
		select {
		case <-j.Done():
			t.Fatalf("background command %q exited %d before it was ready:\n%s%s", c.line, j.Wait(), j.Out.String(), j.Err.String())
		default:
		}
		return false, "\n" + out
	})
	t.Logf("$ jesus %s &   (ready)", strings.Join(c.args, " "))
	return j
}
