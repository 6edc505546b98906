package httpchan_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
)

// A handler that replies after the caller's deadline gets 504 deadline_exceeded on the
// wire, not 500 "handler returned without a reply" (plain HTTP, as curl sees it).
func TestLateReplyIs504(t *testing.T) {
	channeltest.CheckLeaks(t)
	ln := serve(t, channel.Config{}, channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
		dl, cancel := context.WithTimeout(ctx, req.Timeout)
		defer cancel()
		<-dl.Done()
		w.Send(dl, &channel.Envelope{Type: channel.TypeResponse, Data: []byte(`"late"`)})
	}))
	req, _ := http.NewRequest("POST", "http://"+ln.Addr()+"/svc.slow", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Jesus-Timeout", "30")
	resp, err := http.DefaultClient.Do(req.WithContext(testCtx(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body struct{ Code, Message string }
	json.Unmarshal(b, &body)
	var want channel.Envelope
	channel.LateReply(&want, "svc.slow", 30*time.Millisecond, "")
	if resp.StatusCode != http.StatusGatewayTimeout || body.Code != "deadline_exceeded" || body.Message != want.ErrMessage {
		t.Fatalf("got %d %s", resp.StatusCode, b)
	}
	http.DefaultClient.CloseIdleConnections()
}
