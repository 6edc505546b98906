package cli_test

import (
	"strings"
	"testing"

	"github.com/jesus-go/jesus/cmd/jesus/internal/cli"
)

// TestCompletion asks for candidates as a shell's completion script does (the hidden
// __complete command).
func TestCompletion(t *testing.T) {
	leakCheck(t)
	ep, _, _ := etcd(t)
	jesusCmd(t, "", "--etcd", ep, "schema", "push", schemasDir).want(t, cli.ExitOK)
	lines := func(r result) []string {
		t.Helper()
		r.want(t, cli.ExitOK)
		ls := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(ls) == 0 || !strings.HasPrefix(ls[len(ls)-1], ":") {
			t.Fatalf("no directive line:\n%s", r.stdout)
		}
		return ls[:len(ls)-1]
	}

	got := lines(jesusCmd(t, "", "--etcd", ep, "__complete", "call", "orders."))
	want := []string{"orders.create\tresponse on channel rpc", "orders.get\tresponse on channel rpc", "orders.submit\tack on channel domain", "orders.touch\tnoResponse on channel local", "orders.watch\tstream on channel rpc"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("call orders.: got %q", got)
	}
	got = lines(jesusCmd(t, "", "--etcd", ep, "__complete", "bench", "b"))
	if len(got) != 1 || !strings.HasPrefix(got[0], "billing.charge\t") {
		t.Fatalf("bench b: %q", got)
	}
	got = lines(jesusCmd(t, "", "--etcd", ep, "__complete", "listen", ""))
	if len(got) != 2 || !strings.HasPrefix(got[0], "log\temitted by ") || got[1] != "order.created\temitted by orders (ack)" {
		t.Fatalf("listen: %q", got)
	}
	got = lines(jesusCmd(t, "", "--etcd", ep, "__complete", "schema", "show", "or"))
	if strings.Join(got, "|") != "orders|orders@1.2.0" {
		t.Fatalf("schema show or: %q", got)
	}
	got = lines(jesusCmd(t, "", "--etcd", ep, "__complete", "call", "orders.get", "{}", "--mode", ""))
	if len(got) != 4 || !strings.HasPrefix(got[0], "response\t") {
		t.Fatalf("--mode: %q", got)
	}
	// No registry running: no candidates, quickly, and no embedded etcd started.
	r := jesusCmd(t, "", "--data-dir", t.TempDir(), "__complete", "call", "")
	if got := lines(r); len(got) != 0 {
		t.Fatalf("without a registry: %q", got)
	}
}
