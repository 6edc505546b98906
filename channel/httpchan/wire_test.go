package httpchan

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
)

// replyHeads are reply heads that net/http accepts.
var replyHeads = []struct {
	name  string
	reply string
	why   string // non-empty: the client refuses what net/http accepts, and why
}{
	{"ok", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nJesus-Corrid: c\r\n\r\nhi", ""},
	{"no reason phrase", "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nhi", ""},
	{"empty reason phrase", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", ""},
	{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", ""},
	{"lower-case keys", "HTTP/1.1 500 x\r\ncontent-length: 2\r\njesus-error-code: internal\r\n\r\n{}", ""},
	{"same Content-Length twice", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi", ""},
	{"chunked wins over Content-Length", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n2\r\nhi\r\n0\r\n\r\n", ""},
	{"204 ignores Content-Length", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", ""},
	{"until close", "HTTP/1.0 200 OK\r\n\r\nhi", ""},
	{"two 1xx", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n", ""},
	{"Connection token list", "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n", ""},
	{"obs-text in a value", "HTTP/1.1 200 OK\r\nJesus-Corrid: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n", ""},
	{"value with tabs", "HTTP/1.1 200 OK\r\nJesus-Corrid:\t a\tb \t\r\nContent-Length: 0\r\n\r\n", ""},

	{"obs-fold", "HTTP/1.1 200 OK\r\nJesus-Corrid: a\r\n b\r\nContent-Length: 0\r\n\r\n",
		"line folding is obsolete (RFC 9112 5.2); no jesus server folds, and a folded Content-Length or Jesus-Error-Code is how two readers are made to disagree"},
	{"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nhi",
		"RFC 9112 5.1 forbids whitespace before the colon; net/http keeps \"Content-Length \" as another header and reads the body until close, a proxy may take it as the length"},
	{"other HTTP version", "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
		"the client speaks HTTP/1.1 only; an HTTP/2 status line on an HTTP/1.1 connection is not a reply to its request"},
	{"two spaces after the version", "HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n",
		"the status line has exactly one space between version and code (RFC 9112 4)"},
	{"status below 100", "HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"a status code is 100..999 (RFC 9110 15); net/http reads 099 as an informational 99 and skips it"},
	{"signed status", "HTTP/1.1 +20 OK\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"a status code is three digits; net/http's strconv.Atoi reads +20 as 20 and skips it as informational"},
	{"Transfer-Encoding in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing; net/http ignores the header and reads the chunks as the body"},
	{"101 Switching Protocols", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
		"the client never asks for an upgrade; net/http's Transport refuses an unasked 101 too"},
}

// refusedByBoth are reply heads that the client and net/http both refuse.
var refusedByBoth = []struct{ name, reply string }{
	{"six 1xx", strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 6) + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
	{"different Content-Length values", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi!"},
	{"Content-Length list", "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nhi"},
	{"negative Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhi"},
	{"overflowing Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\nhi"},
	{"empty Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n"},
	{"empty Content-Length on a 204", "HTTP/1.0 204 \nContent-Length:\n\n"},
	{"Transfer-Encoding gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"},
	{"NUL in a value", "HTTP/1.1 200 OK\r\nJesus-Corrid: a\x00b\r\nContent-Length: 0\r\n\r\n"},
	{"NUL in a key", "HTTP/1.1 200 OK\r\nJesus\x00Corrid: a\r\nContent-Length: 0\r\n\r\n"},
	{"bare CR", "HTTP/1.1 200 OK\r\nJesus-Corrid: a\rb\r\nContent-Length: 0\r\n\r\n"},
	{"no colon", "HTTP/1.1 200 OK\r\nContent-Length 2\r\n\r\nhi"},
	{"not a version", "HTTP/1.x 200 OK\r\n\r\n"},
	{"short status", "HTTP/1.1 20\r\n\r\n"},
	{"no blank line", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"},
	{"empty", ""},
}

// TestReplyParserVsNetHTTP reads reply heads with the client's parser and with
// net/http.ReadResponse. Where both accept, they agree on the status, the body length and
// the jesus headers. Where the client alone refuses, the case says why the stricter
// answer is right: each is a head that no jesus server and no conforming HTTP/1.1 server
// sends, and that a lenient reader can be made to frame differently from a proxy in front
// of it (RFC 9112 sections 4, 5.1, 5.2 and 11.2).
func TestReplyParserVsNetHTTP(t *testing.T) {
	for _, c := range refusedByBoth {
		t.Run(c.name, func(t *testing.T) {
			ourErr, theirErr := readBoth([]byte(c.reply))
			if ourErr == nil || theirErr == nil {
				t.Fatalf("want both to refuse; client: %v, net/http: %v", ourErr, theirErr)
			}
			if ourErr != io.ErrUnexpectedEOF && !strings.HasPrefix(ourErr.Error(), "httpchan: ") {
				t.Fatalf("unclear error %v", ourErr)
			}
		})
	}
	for _, c := range replyHeads {
		t.Run(c.name, func(t *testing.T) {
			reply := []byte(c.reply)
			ourErr, theirErr := readBoth(reply)
			if c.why != "" {
				if ourErr == nil || theirErr != nil {
					t.Fatalf("want the client alone to refuse (%s); client: %v, net/http: %v", c.why, ourErr, theirErr)
				}
				if !strings.HasPrefix(ourErr.Error(), "httpchan: ") {
					t.Fatalf("unclear error %v", ourErr)
				}
				return
			}
			if ourErr != nil || theirErr != nil {
				t.Fatalf("client: %v, net/http: %v", ourErr, theirErr)
			}
			compareNetHTTP(t, reply) // status, length, jesus headers, keep-alive, body
		})
	}
}

// readBoth reads reply with the client's parser and with net/http.ReadResponse.
func readBoth(reply []byte) (ourErr, theirErr error) {
	w := &wireConn{br: bufio.NewReaderSize(bytes.NewReader(reply), wireReadBuffer)}
	var r wireReply
	var lr io.LimitedReader
	ourErr = w.readReply(&r, &lr, 64<<10)
	_, theirErr = netHTTPReply(reply)
	return ourErr, theirErr
}

// TestIdleSweep: idle connections that the server closed, or that sat idle past the
// client's IdleTimeout, are closed in the background rather than when a call finds them,
// and the sweeping goroutine ends with the last idle connection and with Close.
func TestIdleSweep(t *testing.T) {
	for _, c := range []struct {
		name               string
		server, clientIdle time.Duration
	}{
		{"server closes", 100 * time.Millisecond, 2 * time.Second},
		{"client idle timeout", time.Minute, 300 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) { testIdleSweep(t, c.server, c.clientIdle) })
	}
}

func testIdleSweep(t *testing.T, server, clientIdle time.Duration) {
	channeltest.CheckLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ln, err := listen(ctx, "127.0.0.1:0", channel.Config{IdleTimeout: server}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() {
		served <- ln.Serve(channel.HandlerFunc(func(ctx context.Context, req *channel.Envelope, w channel.ReplyWriter) {
			w.Send(ctx, &channel.Envelope{Type: channel.TypeResponse, Data: req.Data})
		}))
	}()
	cl, err := dial(ln.Addr(), channel.Config{IdleTimeout: clientIdle}.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	leaveIdle(t, ctx, cl)
	waitSwept(t, ctx, cl)
	// The pool works on after a sweep.
	x, err := cl.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "m", Data: []byte("y")})
	if err != nil {
		t.Fatal(err)
	}
	if e, err := x.Recv(ctx); err != nil || string(e.Data) != "y" {
		t.Fatalf("call after the sweep: %v", err)
	}
	x.Close()
	cl.Close()
	ln.Close()
	if err := <-served; !errors.Is(err, channel.ErrClosed) {
		t.Fatalf("Serve: %v", err)
	}
}

// leaveIdle makes concurrent calls on cl, which leave several connections idle.
func leaveIdle(t *testing.T, ctx context.Context, cl *conn) {
	t.Helper()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x, err := cl.Open(ctx, &channel.Envelope{Type: channel.TypeRequest, Mode: channel.ModeResponse, Method: "m", Data: []byte("x")})
			if err == nil {
				_, err = x.Recv(ctx)
				x.Close()
			}
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	cl.pool.mu.Lock()
	idle := len(cl.pool.idle)
	cl.pool.mu.Unlock()
	if idle == 0 {
		t.Fatal("no idle connection after the calls")
	}
}

// waitSwept waits until cl's pool has no connection open and its sweeper has ended.
func waitSwept(t *testing.T, ctx context.Context, cl *conn) {
	t.Helper()
	// Polling the pool, within what is left of ctx: the sweep has no event to wait on.
	deadline, _ := ctx.Deadline()
	channeltest.EventuallyState(t, time.Until(deadline), "the pool to be swept", func() (bool, string) {
		cl.pool.mu.Lock()
		open, sweeping := len(cl.pool.all), cl.pool.sweeper
		cl.pool.mu.Unlock()
		return open == 0 && !sweeping, fmt.Sprintf("%d connections still open, sweeper running: %v", open, sweeping)
	})
}
