package hub_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/gateway/hub"
)

// curlBlock returns the commands of the block marked <!-- hub-curl --> in a document,
// without their comments.
func curlBlock(t *testing.T, file string) [][]string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- hub-curl -->\n```\n(.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s has no hub-curl block", file)
	}
	var cmds [][]string
	for _, line := range strings.Split(strings.TrimSpace(string(m[1])), "\n") {
		if i := strings.Index(line, "   #"); i >= 0 {
			line = line[:i]
		}
		cmds = append(cmds, shellWords(line))
	}
	return cmds
}

// shellWords splits a line as sh does for these commands: single quotes keep words whole.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	in, quoted := false, false
	for _, c := range line {
		switch {
		case quoted && c == '\'':
			quoted = false
		case quoted:
			cur.WriteRune(c)
		case c == '\'':
			quoted, in = true, true
		case c == ' ':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}

// The curl commands of PROTOCOL.md and README.md work against a hub, in their order.
func TestDocumentedCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	for _, doc := range []string{"../../PROTOCOL.md", "../../README.md"} {
		t.Run(doc[6:], func(t *testing.T) {
			h, addr := startHub(t, hub.Config{})
			cmds := curlBlock(t, doc)
			if len(cmds) != 3 {
				t.Fatalf("want 3 commands, got %q", cmds)
			}
			run := func(args []string, id string) *exec.Cmd {
				var a []string
				for _, w := range args[1:] {
					w = strings.ReplaceAll(w, "127.0.0.1:8080", addr)
					a = append(a, strings.ReplaceAll(w, "JOB_ID", id))
				}
				cmd := exec.CommandContext(testCtx(t), curl, a...)
				cmd.Stdout = &bytes.Buffer{}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				return cmd
			}
			worker := run(cmds[0], "")
			eventually(t, "the worker's poll", func() bool { return h.Stats().Waiting == 1 })
			caller := run(cmds[1], "")
			if err := worker.Wait(); err != nil {
				t.Fatal(err)
			}
			var job struct {
				ID              string          `json:"id"`
				OriginalRequest json.RawMessage `json:"originalRequest"`
				Attempt         int             `json:"attempt"`
			}
			out := worker.Stdout.(*bytes.Buffer).String()
			if json.Unmarshal([]byte(out), &job) != nil || string(job.OriginalRequest) != `{"text":"hi"}` || job.Attempt != 1 {
				t.Fatalf("the worker's poll printed %s", out)
			}
			answer := run(cmds[2], job.ID)
			if err := answer.Wait(); err != nil || answer.Stdout.(*bytes.Buffer).Len() != 0 {
				t.Fatalf("answer: %v %s", err, answer.Stdout)
			}
			if err := caller.Wait(); err != nil {
				t.Fatal(err)
			}
			if got := caller.Stdout.(*bytes.Buffer).String(); got != `{"echo":"hi"}` {
				t.Fatalf("the caller printed %q", got)
			}
		})
	}
}
