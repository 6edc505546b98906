package sidecar_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/events"
	"github.com/jesus-go/jesus/jesus"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// jesusBinary builds the jesus command once per test run.
func jesusBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "jesus-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "jesus")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/jesus-go/jesus/cmd/jesus").CombinedOutput()
		if err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building jesus: %v\n%s", buildErr, binPath)
	}
	return binPath
}

// proc is a child process whose stdout lines arrive on lines and whose stderr is kept.
type proc struct {
	cmd    *exec.Cmd
	lines  chan string
	mu     sync.Mutex
	stderr strings.Builder
	done   chan struct{}
	seen   []map[string]any // lines read and not yet expected
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.Write(b)
}

func (p *proc) errText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func startProc(t testing.TB, name string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(name, args...), lines: make(chan string, 256), done: make(chan struct{})}
	p.cmd.Stderr = p
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		_ = p.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		for range p.lines {
		}
		<-p.done
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, p.errText())
		}
	})
	return p
}

// expect returns the first JSON line, seen before or read now, that has key.
func (p *proc) expect(t testing.TB, key string) map[string]any {
	t.Helper()
	return p.expectMatch(t, key, func(m map[string]any) bool { return m[key] != nil })
}

// expectMatch returns the first JSON line, seen before or read now, that match accepts;
// lines it passes over are kept for later calls.
func (p *proc) expectMatch(t testing.TB, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	for i, m := range p.seen {
		if match(m) {
			p.seen = append(p.seen[:i], p.seen[i+1:]...)
			return m
		}
	}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("the process ended before a %s line; stderr:\n%s", what, p.errText())
			}
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) != nil {
				continue
			}
			if match(m) {
				return m
			}
			p.seen = append(p.seen, m)
		case <-timeout:
			t.Fatalf("no %s line within 20s; stderr:\n%s", what, p.errText())
		}
	}
}

// TestPythonApp runs the sidecar as its own process (the jesus binary, built here) and a
// Python application (standard library only) that reaches it over a unix socket.
func TestPythonApp(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("python3 is required for this test")
	}
	bin := jesusBinary(t)
	e, eps := startRegistry(t)
	c := startClock(t, e)
	dir := shortDir(t)
	sock := filepath.Join(dir, "sidecar.sock")
	const interval = 500 * time.Millisecond
	sc := startProc(t, bin, "--etcd", strings.Join(eps, ","), "sidecar", "--listen", "", "--unix", sock,
		"--healthcheck-interval", interval.String())
	api := unixClient(t, sock)
	channeltest.Eventually(t, 20*time.Second, "the sidecar answers", func() bool {
		resp, err := api.Get("http://sidecar/v1/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	app := startProc(t, "python3", filepath.Join("testdata", "app.py"), "--socket", sock,
		"--descriptor", filepath.Join("testdata", "services", "greeter.json"), "--interval-ms", "500")
	if m := app.expect(t, "registered"); m["status"] != float64(200) {
		t.Fatalf("register: %v", m)
	}
	channeltest.Eventually(t, 10*time.Second, "greeter in the registry", func() bool { return len(e.cache.Instances("greeter")) == 1 })
	pyCallsAndEmits(t, app, c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pyGetsEvents(t, ctx, app, c)
	cl := receiverClient(t, e, true)
	pyServes(t, ctx, app, e, cl)

	// Killed: gone from callers within one health interval.
	if err := app.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	channeltest.Eventually(t, 10*time.Second, "greeter gone from the registry", func() bool { return len(e.cache.Instances("greeter")) == 0 })
	gone := time.Since(start)
	t.Logf("the killed app left the registry %v after the kill (health interval %v)", gone.Round(time.Millisecond), interval)
	if gone > interval+250*time.Millisecond {
		t.Fatalf("gone after %v, more than one interval (%v) and the watch's delay", gone, interval)
	}
	_, err := jesus.Call[map[string]any, map[string]any](ctx, cl, "greeter.hello", map[string]any{"name": "Late"})
	if jesus.CodeOf(err) != jesus.CodeUnavailable {
		t.Fatalf("call after the kill: %v", err)
	}
	stopsOnSIGTERM(t, sc)
}

// pyCallsAndEmits: the app calls a Go service and emits an event a Go listener gets.
func pyCallsAndEmits(t *testing.T, app *proc, c *clock) {
	if m := app.expect(t, "called"); m["status"] != float64(200) || m["called"].(map[string]any)["zone"] != "Europe/Rome" {
		t.Fatalf("call: %v", m)
	}
	if m := app.expect(t, "emitted"); m["status"] != float64(200) || mustJSON(m["emitted"].(map[string]any)["acked"]) != `["clock"]` {
		t.Fatalf("emit: %v", m)
	}
	select {
	case ev := <-c.greeted:
		if ev.Payload["name"] != "Py" || ev.From != "greeter" {
			t.Fatalf("clock got %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("clock did not get greeted")
	}
}

// pyGetsEvents: a Go emit reaches the app by push and by SSE.
func pyGetsEvents(t *testing.T, ctx context.Context, app *proc, c *clock) {
	app.expect(t, "sse")
	res, err := events.Emit(ctx, c.bus, "tick", map[string]int{"n": 5})
	if err != nil || mustJSON(res.Acked) != `["greeter"]` {
		t.Fatalf("emit tick: %+v %v", res, err)
	}
	app.expectMatch(t, "push", func(m map[string]any) bool {
		return m["push"] != nil && mustJSON(m["push"]) == `{"n":5}` && m["id"] == res.ID && m["event"] == "tick"
	})
	app.expectMatch(t, "sse event", func(m map[string]any) bool {
		ev, _ := m["sse"].(map[string]any)
		return ev != nil && ev["id"] == res.ID && mustJSON(ev["payload"]) == `{"n":5}`
	})
}

// pyServes: a Go client (cl, validating) calls the app's methods; a schema-invalid request
// never reaches the app.
func pyServes(t *testing.T, ctx context.Context, app *proc, e *env, cl *jesus.Client) {
	got, err := jesus.Call[map[string]any, map[string]any](jesus.WithCorrID(ctx, "c-py"), cl, "greeter.hello", map[string]any{"name": "Go"})
	if err != nil || got["greeting"] != "hello Go" {
		t.Fatalf("hello: %v %v", got, err)
	}
	if m := app.expect(t, "served"); mustJSON(m["req"]) != `{"name":"Go"}` || m["corrid"] != "c-py" || m["caller"] != "tester" {
		t.Fatalf("served %v", m)
	}
	// The next request the app sees is the valid one sent after the invalid one.
	raw := receiverClient(t, e, false)
	_, err = jesus.Call[map[string]any, map[string]any](ctx, raw, "greeter.hello", map[string]any{"name": "", "extra": true})
	if jesus.CodeOf(err) != jesus.CodeInvalidArgument {
		t.Fatalf("invalid request: %v", err)
	}
	if _, err := jesus.Call[map[string]any, map[string]any](ctx, cl, "greeter.hello", map[string]any{"name": "After"}); err != nil {
		t.Fatal(err)
	}
	if m := app.expect(t, "served"); mustJSON(m["req"]) != `{"name":"After"}` {
		t.Fatalf("the app saw %v", m)
	}
	// Streams and acks through to Python.
	n := 0
	for _, err := range jesus.Stream[map[string]any, map[string]any](ctx, cl, "greeter.count", map[string]any{"n": 3}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("%d items", n)
	}
}

// stopsOnSIGTERM: the sidecar process stops cleanly on SIGTERM.
func stopsOnSIGTERM(t *testing.T, sc *proc) {
	if err := sc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sc.done:
	case <-time.After(15 * time.Second):
		t.Fatal("the sidecar did not stop on SIGTERM")
	}
	if code := sc.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("sidecar exit %d", code)
	}
}
