package sidecar_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/gateway/sidecar"
)

// example is one command of a console block of the documentation and its output.
type example struct {
	file, cmd, want string
}

// placeholder is a value that differs per run in a documented output: <id>, <port>, ...
var placeholder = regexp.MustCompile(`<[a-z]+>`)

// consoleExamples returns the "$ command" lines of every ```console block of doc that
// uses the sidecar ($SC or $SOCK), each with the output lines after it.
func consoleExamples(t *testing.T, file string) []example {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []example
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case !in && line == "```console":
			in = true
		case in && line == "```":
			in = false
		case in && strings.HasPrefix(line, "$ "):
			out = append(out, example{file: file, cmd: line[2:]})
		case in && len(out) > 0:
			out[len(out)-1].want += line + "\n"
		}
	}
	var keep []example
	for _, ex := range out {
		if strings.Contains(ex.cmd, "$SC") || strings.Contains(ex.cmd, "$SOCK") {
			keep = append(keep, ex)
		}
	}
	return keep
}

// TestDocExamples runs the sidecar's curl examples of README.md and PROTOCOL.md against a
// sidecar with the services the documents name, and compares what they print.
func TestDocExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is required to run the documentation's examples")
	}
	e := startEnv(t, func(c *sidecar.Config) { c.HealthInterval = 2 * time.Second })
	startClock(t, e)
	a := startGoApp(t)
	registerGoApp(t, e, a, map[string]any{"intervalMs": 2000})
	greeter, err := filepath.Abs(filepath.Join("testdata", "services", "greeter.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all []example
	for _, f := range []string{"README.md", "PROTOCOL.md"} {
		all = append(all, consoleExamples(t, filepath.Join("..", "..", f))...)
	}
	if len(all) < 10 {
		t.Fatalf("found %d examples in README.md and PROTOCOL.md", len(all))
	}
	envv := append(os.Environ(), "SC="+e.base, "SOCK="+e.sock, "APP="+a.url, "GREETER="+greeter)
	for _, ex := range all {
		want := strings.TrimRight(ex.want, "\n")
		re := regexp.MustCompile(`(?s)^` + placeholder.ReplaceAllString(regexp.QuoteMeta(want), `.*?`) + `$`)
		readOnly := !strings.Contains(ex.cmd, " -d ") && !strings.Contains(ex.cmd, " -X ")
		// A read-only example may see the registry a moment before it settles.
		channeltest.EventuallyState(t, 5*time.Second, "the output "+ex.file+" shows for "+ex.cmd, func() (bool, string) {
			cmd := exec.Command("sh", "-c", ex.cmd)
			cmd.Env = envv
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			got, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %s: %v\n%s", ex.file, ex.cmd, err, stderr.Bytes())
			}
			if re.Match(bytes.TrimRight(got, "\n")) {
				return true, ""
			}
			if !readOnly {
				t.Fatalf("%s: %s\ngot:\n%s\nwant:\n%s", ex.file, ex.cmd, got, want)
			}
			return false, fmt.Sprintf("\ngot:\n%s\nwant:\n%s", got, want)
		})
	}
}
