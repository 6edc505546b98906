package httpchan_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
)

// TestRealCurl runs the curl command of PROTOCOL.md section 4 when curl is installed.
func TestRealCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	channeltest.CheckLeaks(t)
	ln := serve(t, channel.Config{}, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		if req.Method != "orders.create" || req.Codec != "json" || req.Timeout.Milliseconds() != 2000 || req.Meta.CorrID != "c-1" {
			w.Send(ctx, &channel.Envelope{Type: channel.TypeError, ErrCode: "invalid_argument", ErrMessage: "unexpected request"})
			return
		}
		w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Codec: "json", Meta: channel.Meta{CorrID: req.Meta.CorrID}, Data: []byte(`{"id":"o-7"}`)})
	}))
	out, err := exec.CommandContext(testCtx(t), curl, "-sS", "-i", "-H", "Content-Type: application/json", "-H", "Jesus-Timeout: 2000",
		"-H", "Jesus-Corrid: c-1", "-d", `{"customer":"c-42","items":["book"]}`, "http://"+ln.Addr()+"/orders.create").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	s := strings.ReplaceAll(string(out), "\r\n", "\n")
	for _, want := range []string{"HTTP/1.1 200 OK\n", "Content-Type: application/json\n", "Jesus-Corrid: c-1\n", "\n\n{\"id\":\"o-7\"}"} {
		if !strings.Contains(s, want) {
			t.Fatalf("curl output lacks %q:\n%s", want, s)
		}
	}
	out, _ = exec.CommandContext(testCtx(t), curl, "-sS", "-i", "-d", "x=1", "http://"+ln.Addr()+"/orders.create").CombinedOutput()
	if s := string(out); !strings.Contains(s, "415") || !strings.Contains(s, `"code":"invalid_argument"`) {
		t.Fatalf("curl with a form body:\n%s", s)
	}
}
