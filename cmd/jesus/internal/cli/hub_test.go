package cli_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
)

func TestHubHelp(t *testing.T) {
	leakCheck(t)
	jesusCmd(t, "", "hub", "--help").want(t, cli.ExitOK, "POST /service/{name}", "GET  /service/{name}/jobs", "POST /jobs/{id}", "--lease", "--max-queue", "resource_exhausted", "gateway/hub.Worker")
	jesusCmd(t, "", "hub", "extra").wantErr(t, cli.ExitUsage, "takes 0 argument(s)")
	jesusCmd(t, "", "hub", "--no-registry", "--for", "-1s").wantErr(t, cli.ExitUsage, "--for must not be negative")
}

// jesus hub runs the API on the registry, and stops when its context ends.
func TestHubServes(t *testing.T) {
	leakCheck(t)
	ep, _, _ := etcd(t)
	h := startCmd(t, "hub", "--etcd", ep, "--listen", "127.0.0.1:0")
	h.Err.WaitFor(t, "hub listening on http://")
	addr := regexp.MustCompile(`http://(\S+)`).FindStringSubmatch(h.Err.String())[1]
	resp, err := http.Post("http://"+addr+"/service/nosuch", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(b), "unknown service") {
		t.Fatalf("POST to an unknown service: %d %s", resp.StatusCode, b)
	}
	http.DefaultClient.CloseIdleConnections()
	h.StopWant(t, cli.ExitOK)
}

// demo --serve --admin: /readyz is ready once the demo's services run and pass their
// startup compatibility checks, and names what is not ready otherwise.
func TestDemoServeAdmin(t *testing.T) {
	leakCheck(t)
	ep, _, _ := etcd(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := l.Addr().String() // --http pins orders' http channel here
	l.Close()
	demo := startCmd(t, "demo", "--serve", "--etcd", ep, "--admin", "127.0.0.1:0", "--http", httpAddr, "--schemas", "../../../../schemas")
	demo.Err.WaitFor(t, "admin: http://")
	addr := regexp.MustCompile(`admin: http://(\S+?)/metrics`).FindStringSubmatch(demo.Err.String())[1]
	demo.Out.WaitFor(t, "services stay up until interrupted")
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz: %d %s", resp.StatusCode, b)
	}
	// A curl written in advance reaches orders at the pinned address.
	resp, err = http.Post("http://"+httpAddr+"/orders.get", "application/json", strings.NewReader(`{"id":"o-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && !strings.Contains(string(b), `"code":"not_found"`) {
		t.Fatalf("orders.get at the pinned address: %d %s", resp.StatusCode, b)
	}
	http.DefaultClient.CloseIdleConnections()
	demo.StopWant(t, cli.ExitOK)
	jesusCmd(t, "", "demo", "--admin", "127.0.0.1:0").wantErr(t, cli.ExitUsage, "--admin goes with --serve")
	jesusCmd(t, "", "demo", "--http", "127.0.0.1:0").wantErr(t, cli.ExitUsage, "--http goes with --serve")
}

// The long-running commands print where they serve as one JSON line with --json.
func TestServeJSON(t *testing.T) {
	leakCheck(t)
	ep, _, _ := etcd(t)
	for _, c := range []struct {
		args []string
		key  string
	}{
		{[]string{"hub", "--etcd", ep, "--listen", "127.0.0.1:0", "--json"}, "hub"},
		{[]string{"sidecar", "--etcd", ep, "--listen", "127.0.0.1:0", "--json"}, "api"},
		{[]string{"registry", "serve", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--json"}, "etcd"},
	} {
		t.Run(c.args[0], func(t *testing.T) {
			b := startCmd(t, c.args...)
			b.Out.WaitFor(t, "\n")
			var m map[string]any
			line, _, _ := strings.Cut(b.Out.String(), "\n")
			if err := json.Unmarshal([]byte(line), &m); err != nil || m[c.key] == nil {
				t.Fatalf("%v: stdout %q: %v", c.args, b.Out.String(), err)
			}
			b.StopWant(t, cli.ExitOK)
		})
	}
}
