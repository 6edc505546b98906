package hub_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	jdisc "github.com/jesus-go/jesus/jesus/discovery"

	"github.com/jesus-go/jesus/gateway/hub"
	"github.com/jesus-go/jesus/gateway/internal/gatewaytest"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
	"github.com/jesus-go/jesus/schema/registry/registrytest"
)

// testCtx is a context for one test.
var testCtx = gatewaytest.Ctx

// eventually waits until cond holds: hub stats and registry caches have nothing to wait on.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	channeltest.Eventually(t, 20*time.Second, what, cond)
}

// leakCheck fails the test on goroutines left running after it.
var leakCheck = channeltest.CheckLeaks

// startHub starts a hub on a free loopback port; it is closed by t.Cleanup.
func startHub(t testing.TB, cfg hub.Config) (*hub.Hub, string) {
	t.Helper()
	h, err := hub.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.Serve(ln)
	}()
	t.Cleanup(func() {
		h.Close()
		<-done
	})
	return h, ln.Addr().String()
}

// registryWith starts an embedded etcd and publishes the descriptors of testdata/schemas.
func registryWith(t testing.TB) (*registry.Registry, *registry.Cache, *schema.Set) {
	t.Helper()
	_, reg, cache := registrytest.Start(t, 0)
	set, err := schema.LoadDir("testdata/schemas")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range set.Services() {
		doc, err := d.Bundle()
		if err != nil {
			t.Fatal(err)
		}
		if err := reg.PublishDescriptor(testCtx(t), d.Service, d.Version, doc); err != nil {
			t.Fatal(err)
		}
	}
	return reg, cache, set
}

// pyWorker runs testdata/worker.py; it is killed by t.Cleanup. Its stdout lines arrive
// on the returned channel.
func pyWorker(t testing.TB, hubs, service, name string, extra ...string) (*exec.Cmd, <-chan string) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	cmd := exec.Command(py, append([]string{"testdata/worker.py", hubs, service, name}, extra...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder // written by exec's copying goroutine, read after Wait
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		for range lines {
		}
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("%s's stderr:\n%s", name, stderr.String())
		}
	})
	select {
	case l := <-lines:
		if !strings.HasPrefix(l, "READY") {
			t.Fatalf("worker said %q", l)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("python worker did not start")
	}
	return cmd, lines
}

// goWorker serves greeter through the hubs at addr (or those of the registry).
func goWorker(t testing.TB, addr string, cache *registry.Cache) *jesus.Server {
	t.Helper()
	hw := &hub.Worker{Service: "greeter", Cache: cache, Pollers: 8, Wait: 2 * time.Second}
	srv := jesus.NewServer("greeter")
	jesus.Handle(srv, "hello", func(ctx context.Context, req struct {
		Name string `json:"name"`
	}) (map[string]any, error) {
		if req.Name == "nobody" {
			return nil, jesus.NewError(jesus.CodeNotFound, "no one called nobody")
		}
		return map[string]any{"greeting": "hello, " + req.Name, "n": 7}, nil
	})
	jesus.HandleOneWay(srv, "note", func(ctx context.Context, req map[string]any) error { return nil })
	if _, err := srv.ListenVia(testCtx(t), hw, "json", addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func post(t testing.TB, url, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// discovery is the tests' one use of the registry-backed resolver of package jesus.
func discovery(t testing.TB, cache *registry.Cache) *jdisc.Discovery {
	d := jdisc.New(cache)
	t.Cleanup(d.Close)
	return d
}
