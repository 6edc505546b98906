package cli_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
	"github.com/jesus-go/jesus/schema/registry/registrytest"
)

func TestSidecarHelpAndUsage(t *testing.T) {
	jesusCmd(t, "", "sidecar", "--help").want(t, cli.ExitOK, "POST   /v1/call/SERVICE.METHOD", "PUT    /v1/apps/SERVICE",
		"GET    /v1/events?name=EVENT", "--healthcheck-url", "--unix", "PROTOCOL.md")
	jesusCmd(t, "", "sidecar", "--listen", "").wantErr(t, cli.ExitUsage, "give --listen, --unix or both")
	jesusCmd(t, "", "sidecar", "--server-descriptor", "x.json").wantErr(t, cli.ExitUsage, "--server-descriptor and --server-address go together")
	jesusCmd(t, "", "sidecar", "extra").wantErr(t, cli.ExitUsage, "takes 0 argument(s), got 1")
}

// The command serves the API on a unix socket, registers the app its flags name once the
// app's health check passes, and stops when its context ends.
func TestSidecarServes(t *testing.T) {
	leakCheck(t)
	emb, _, _ := registrytest.Start(t, 0)
	dir, err := os.MkdirTemp("", "sc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	desc := filepath.Join(dir, "app.json")
	if err := os.WriteFile(desc, []byte(`{"service":"tiny","version":"1.0.0","channels":{"rpc":"http+json"},
	  "methods":{"ping":{"mode":"response","channel":"rpc","request":{"type":"object"},"response":{"type":"object"}},
	             "count":{"mode":"stream","channel":"rpc","request":{"type":"object"},"response":{"type":"integer"}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/count" {
			fmt.Fprint(w, "{\"item\":1}\n{\"item\":2}\n{\"end\":{}}\n")
			return
		}
		fmt.Fprint(w, `{"pong":true}`)
	})}
	go app.Serve(ln)
	t.Cleanup(func() { app.Close() })

	sock := filepath.Join(dir, "sidecar.sock")
	sc := startCmd(t, "--etcd", strings.Join(emb.Endpoints(), ","), "sidecar", "--listen", "", "--unix", sock,
		"--server-descriptor", desc, "--server-address", "http://"+ln.Addr().String(), "--healthcheck-url", "/health",
		"--healthcheck-interval", "200ms")
	sc.Err.WaitFor(t, "sidecar: app tiny@1.0.0 at http://"+ln.Addr().String()+" registered")
	sc.Err.WaitFor(t, "serving the API on unix:"+sock)
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}
	defer tr.CloseIdleConnections()
	// The sidecar's cache follows etcd's watch: the app may take a moment to appear in it.
	channeltest.Eventually(t, 10*time.Second, "tiny.ping answered through the sidecar", func() bool {
		resp, err := (&http.Client{Transport: tr}).Post("http://sidecar/v1/call/tiny.ping", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200 && strings.TrimSpace(string(b)) == `{"pong":true}`
	})
	// The CLI through the sidecar, with no etcd of its own.
	via := "--sidecar=unix:" + sock
	jesusCmd(t, "", "call", via, "tiny.ping", `{"x":1}`).want(t, cli.ExitOK, `{"pong":true}`)
	jesusCmd(t, "", "call", via, "tiny.count", `{}`).want(t, cli.ExitOK, "1\n2\n")
	jesusCmd(t, "", "call", via, "tiny.pong", `{}`).wantErr(t, cli.ExitFailure, `has no method "pong"`)
	jesusCmd(t, "", "call", via, "tiny.ping", `{`).wantErr(t, cli.ExitUsage, "not valid JSON")
	jesusCmd(t, "", "call", via, "--channel", "rpc", "tiny.ping", `{}`).wantErr(t, cli.ExitUsage, "--channel")
	jesusCmd(t, "", "emit", via, "nothing.happened", `{}`).wantErr(t, cli.ExitFailure, `declares event "nothing.happened"`)
	jesusCmd(t, "", "call", "--sidecar", "unix:"+filepath.Join(dir, "none.sock"), "tiny.ping", `{}`).wantErr(t, cli.ExitUnavailable, "did not answer")

	sc.StopWant(t, cli.ExitOK)
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("the socket is left behind: %v", err)
	}
}
