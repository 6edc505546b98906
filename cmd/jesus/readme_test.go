package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
)

// lockedBuffer is a buffer a background command writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

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

type job struct {
	args        []string
	out, errOut *lockedBuffer
	cancel      context.CancelFunc
	done        chan int
}

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
	data, outDir := t.TempDir(), t.TempDir()
	env := func(k string) string {
		if k == "JESUS_DATA" {
			return data
		}
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var jobs []*job
	defer func() {
		for i := len(jobs) - 1; i >= 0; i-- {
			jobs[i].cancel()
			<-jobs[i].done
		}
	}()
	ran := 0
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		stdin := ""
		if l, r, ok := strings.Cut(line, " | "); ok {
			w := shellWords(l)
			if len(w) != 2 || w[0] != "echo" {
				t.Fatalf("unsupported pipeline %q", line)
			}
			stdin, line = w[1]+"\n", r
		}
		words := shellWords(line)
		background := len(words) > 0 && words[len(words)-1] == "&"
		if background {
			words = words[:len(words)-1]
		}
		if strings.Join(words, " ") == "go install ./cmd/jesus" {
			continue // the commands run in-process
		}
		var args []string
		switch {
		case len(words) >= 2 && words[0] == "jesus":
			args = words[1:]
		case len(words) >= 4 && strings.Join(words[:3], " ") == "go run ./cmd/jesus":
			args = words[3:]
		default:
			t.Fatalf("README command %q is not a jesus command", line)
		}
		if args[0] == "registry" {
			args = append(args, "--listen", "127.0.0.1:0")
		}
		for i := range args {
			if args[i] == "--http" && i+1 < len(args) {
				args[i+1] = "127.0.0.1:0" // a fixed port could be taken where the test runs
			}
		}
		args = outputsIn(args, outDir)
		ran++
		out, errOut := &lockedBuffer{}, &lockedBuffer{}
		e := cli.Env{Stdin: strings.NewReader(stdin), Stdout: out, Stderr: errOut, Getenv: env}
		if !background {
			start := time.Now()
			code := cli.Main(ctx, args, e)
			t.Logf("$ jesus %s   (exit %d, %v)\n%s%s", strings.Join(args, " "), code, time.Since(start).Round(time.Millisecond), out.String(), errOut.String())
			if code != cli.ExitOK {
				t.Fatalf("README command %q exited %d:\n%s%s", line, code, out.String(), errOut.String())
			}
			continue
		}
		jctx, jcancel := context.WithCancel(ctx)
		j := &job{args: args, out: out, errOut: errOut, cancel: jcancel, done: make(chan int, 1)}
		jobs = append(jobs, j)
		go func() { j.done <- cli.Main(jctx, args, e) }()
		marker := readiness[args[0]]
		for !strings.Contains(out.String()+errOut.String(), marker) {
			select {
			case code := <-j.done:
				t.Fatalf("background command %q exited %d before it was ready:\n%s%s", line, code, out.String(), errOut.String())
			case <-ctx.Done():
				t.Fatalf("background command %q not ready:\n%s%s", line, out.String(), errOut.String())
			case <-time.After(20 * time.Millisecond): // polling output: the command signals nothing else
			}
		}
		t.Logf("$ jesus %s &   (ready)", strings.Join(args, " "))
	}
	if ran < 10 {
		t.Fatalf("ran only %d README commands", ran)
	}
	// listen --count N ends by itself once the emits arrived.
	for _, j := range jobs {
		if j.args[0] != "listen" {
			continue
		}
		select {
		case code := <-j.done:
			j.done <- code
			if code != cli.ExitOK || strings.Count(j.out.String(), "\n") < 2 {
				t.Fatalf("listen: exit %d, printed:\n%s%s", code, j.out.String(), j.errOut.String())
			}
			t.Logf("listen printed:\n%s", j.out.String())
		case <-ctx.Done():
			t.Fatalf("listen did not get its events:\n%s%s", j.out.String(), j.errOut.String())
		}
	}
	for i := len(jobs) - 1; i >= 0; i-- {
		jobs[i].cancel()
		if code := <-jobs[i].done; code != cli.ExitOK {
			t.Errorf("%v exited %d after interrupt:\n%s%s", jobs[i].args, code, jobs[i].out.String(), jobs[i].errOut.String())
		}
		jobs[i].done <- 0
	}
	jobs = nil
}
