package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenGo runs `jesus gen go` as go:generate would and compares with the committed
// package generated from the same descriptors.
func TestGenGo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demoapi")
	r := jesusCmd(t, "", "gen", "go", "-o", out, "--package", "demoapi", schemasDir)
	r.want(t, 0, "orders.jesus.go", "common_defs.jesus.go")
	committed := filepath.Join("..", "demoapi")
	names, _ := filepath.Glob(filepath.Join(out, "*.jesus.go"))
	if len(names) != 4 {
		t.Fatalf("files: %v", names)
	}
	for _, p := range names {
		got, _ := os.ReadFile(p)
		want, err := os.ReadFile(filepath.Join(committed, filepath.Base(p)))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s differs from the committed %s", p, filepath.Base(p))
		}
	}

	// A stale generated file goes; the rest stays as it is.
	stale := filepath.Join(out, "gone.jesus.go")
	if err := os.WriteFile(stale, []byte("package demoapi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = jesusCmd(t, "", "gen", "go", "-o", out, "--package", "demoapi", "--json", schemasDir)
	r.want(t, 0)
	var rep struct {
		Package string   `json:"package"`
		Files   []string `json:"files"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Package != "demoapi" || len(rep.Files) != 4 {
		t.Fatalf("--json: %v %+v\n%s", err, rep, r.stdout)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("stale file kept: %v", err)
	}

	// One service; the package name defaults to the directory's name.
	one := filepath.Join(t.TempDir(), "billingapi")
	r = jesusCmd(t, "", "gen", "go", "-o", one, "--service", "billing", filepath.Join(schemasDir, "billing.json"))
	r.want(t, 0, "billing.jesus.go")
	b, _ := os.ReadFile(filepath.Join(one, "billing.jesus.go"))
	if !strings.Contains(string(b), "package billingapi") || strings.Contains(r.stdout, "orders") {
		t.Fatalf("one service:\n%s\n%s", r.stdout, b)
	}
}

func TestGenGoErrors(t *testing.T) {
	jesusCmd(t, "", "gen", "go", "-o", t.TempDir(), "--package", "no-go", schemasDir).wantErr(t, 3, `gen go: gogen: package "no-go" is not a Go identifier`)
	jesusCmd(t, "", "gen", "go", "-o", t.TempDir(), "--package", "p", "--service", "nope", schemasDir).wantErr(t, 3, `no service "nope"`)
	jesusCmd(t, "", "gen", "go", "-o", t.TempDir(), "no/such/dir").wantErr(t, 1, "gen go:", "no/such/dir")
	jesusCmd(t, "", "gen", "go").wantErr(t, 3, "takes 1 argument")
}
