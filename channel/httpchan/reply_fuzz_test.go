package httpchan

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
)

// Limits of the client under fuzzing: small, so that a parser that ignores them shows in the
// memory it allocates.
const (
	fuzzMaxHeader  = 2 << 10
	fuzzMaxMessage = 8 << 10
)

// fuzzAllocBudget is the most one fuzzed call may allocate, the server side of the test
// included: the reply head (read buffer, one string, the header map) scales with
// MaxHeaderBytes, the body with MaxMessage, an error body with maxErrorBody; the rest is a
// connection's fixed cost. It does not depend on how long the fuzzed reply is.
const fuzzAllocBudget = 64*fuzzMaxHeader + 4*fuzzMaxMessage + 3*maxErrorBody + 192<<10

// replySeeds are server replies worth starting from: good ones of every mode and status,
// and the hostile shapes a reply parser must refuse.
func replySeeds() map[string]string {
	big := strings.Repeat("x", 3*fuzzMaxHeader)
	return map[string]string{
		"ok_200":              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\nJesus-Corrid: c-1\r\nJesus-Meta-Event-Id: e-9\r\n\r\n{\"n\":1}",
		"ok_200_msgpack_zstd": "HTTP/1.1 200 OK\r\nContent-Type: application/msgpack\r\nContent-Encoding: zstd\r\nContent-Length: 3\r\nJesus-Req-In: 1700000000000000000\r\n\r\nabc",
		"ok_200_jesus_codec":  "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nJesus-Codec: cbor+lz4\r\nContent-Length: 1\r\n\r\nz",
		"ok_200_no_reason":    "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nhi",
		"ok_200_bare_lf":      "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi",
		"ok_200_until_close":  "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":[1,2,3]}",
		"ok_200_chunked":      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n",
		"ok_200_trailing":     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
		"continue_then_200":   "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"many_1xx":            strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 8) + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"ack_202":             "HTTP/1.1 202 Accepted\r\nJesus-Corrid: c-2\r\nContent-Length: 0\r\n\r\n",
		"ack_204":             "HTTP/1.1 204 No Content\r\n\r\n",
		"no_content_with_cl":  "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello",
		"err_404_jesus":       "HTTP/1.1 404 Not Found\r\nJesus-Error-Code: not_found\r\nContent-Type: application/json\r\nContent-Length: 46\r\n\r\n{\"code\":\"not_found\",\"message\":\"no order o-9\"}\n",
		"err_400_details":     "HTTP/1.1 400 Bad Request\r\nJesus-Error-Code: invalid_argument\r\nContent-Length: 75\r\n\r\n{\"code\":\"invalid_argument\",\"message\":\"bad\",\"details\":{\"pointer\":\"/id\"}} \n",
		"err_502_bad_resp":    "HTTP/1.1 502 Bad Gateway\r\nJesus-Error-Code: bad_response\r\nContent-Length: 2\r\n\r\n{}",
		"err_502_proxy":       "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 21\r\n\r\n<h1>bad gateway</h1>\n",
		"err_503_no_body":     "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n",
		"err_500_huge_body":   "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 999999999\r\n\r\nboom",
		"err_code_on_200":     "HTTP/1.1 200 OK\r\nJesus-Error-Code: internal\r\nContent-Length: 4\r\n\r\noops",
		"stream_reply":        "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.jesus.stream\r\nContent-Length: 4\r\n\r\n\x00\x00\x00\x00",
		"switching":           "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
		"bad_status_short":    "HTTP/1.1 20\r\n\r\n",
		"bad_status_alpha":    "HTTP/1.1 2x0 OK\r\n\r\n",
		"bad_status_low":      "HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n",
		"bad_status_sign":     "HTTP/1.1 +20 OK\r\n\r\n",
		"bad_version":         "HTTP/1.x 200 OK\r\nContent-Length: 0\r\n\r\n",
		"http2_version":       "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
		"not_http":            "SSH-2.0-OpenSSH_9.6\r\n",
		"empty":               "",
		"no_blank_line":       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",
		"no_crlf":             "HTTP/1.1 200 OK",
		"huge_header":         "HTTP/1.1 200 OK\r\nX-Big: " + big + "\r\nContent-Length: 0\r\n\r\n",
		"head_over_limit":     "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-A: b\r\n", fuzzMaxHeader/8+1) + "\r\n",
		"many_short_headers":  "HTTP/1.1 200 OK\r\n" + strings.Repeat("a:\r\n", fuzzMaxHeader/4-8) + "\r\n",
		"cl_duplicate_same":   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi",
		"cl_duplicate_differ": "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi!",
		"cl_list":             "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nhi",
		"cl_negative":         "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhi",
		"cl_overflow":         "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nhi",
		"cl_over_limit":       "HTTP/1.1 200 OK\r\nContent-Length: 4611686018427387903\r\n\r\nhi",
		"cl_empty":            "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
		"cl_plus":             "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nhi",
		"cl_short_body":       "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhi",
		"te_and_cl":           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
		"te_gzip":             "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
		"chunked_bad_size":    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhi\r\n0\r\n\r\n",
		"chunked_huge":        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nhi",
		"folding":             "HTTP/1.1 200 OK\r\nJesus-Corrid: a\r\n b\r\nContent-Length: 0\r\n\r\n",
		"folding_first":       "HTTP/1.1 200 OK\r\n Jesus-Corrid: a\r\nContent-Length: 0\r\n\r\n",
		"nul_in_value":        "HTTP/1.1 200 OK\r\nJesus-Corrid: a\x00b\r\nContent-Length: 0\r\n\r\n",
		"nul_in_key":          "HTTP/1.1 200 OK\r\nJesus\x00Corrid: a\r\nContent-Length: 0\r\n\r\n",
		"nul_in_status":       "HTTP/1.1 200 O\x00K\r\nContent-Length: 0\r\n\r\n",
		"space_before_colon":  "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nhi",
		"no_colon":            "HTTP/1.1 200 OK\r\nContent-Length 2\r\n\r\nhi",
		"bare_cr":             "HTTP/1.1 200 OK\rContent-Length: 2\r\r\n\r\nhi",
		"lowercase_keys":      "HTTP/1.1 200 OK\r\ncontent-length: 2\r\njesus-error-code: not_found\r\njesus-meta-x-y: z\r\n\r\n{}",
		"obs_text_value":      "HTTP/1.1 200 OK\r\nJesus-Corrid: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n",
		"bad_req_in":          "HTTP/1.1 200 OK\r\nJesus-Req-In: soon\r\nContent-Length: 0\r\n\r\n",
		"too_many_meta":       "HTTP/1.1 200 OK\r\n" + manyMeta(channel.MaxExtra+1) + "Content-Length: 0\r\n\r\n",
		"connection_close":    "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 2\r\n\r\nhi",
	}
}

func manyMeta(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString("Jesus-Meta-K")
		b.WriteString(strings.Repeat("a", i/26))
		b.WriteByte(byte('a' + i%26))
		b.WriteString(": v\r\n")
	}
	return b.String()
}

// goodReply answers the call that follows every fuzzed one on the same Conn.
const goodReply = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\ntrue"

// FuzzReply feeds arbitrary bytes, as a server's reply, to the client's own http path:
// a loopback listener reads the request, writes the bytes and closes, while the client
// does Open and Recv in response, ack or noResponse mode. The call ends with an envelope
// or an error that says what was wrong, within a deadline, within a memory budget set by
// the client's limits, without a goroutine left behind; and the next call on the same
// Conn gets its own reply (a bad reply never poisons the pool). Where the client accepts a
// reply head, net/http reads the same status, framing and jesus headers from it.
func FuzzReply(f *testing.F) {
	seeds := replySeeds()
	for _, name := range slices.Sorted(maps.Keys(seeds)) {
		f.Add(uint8(channel.ModeResponse), []byte(seeds[name]))
	}
	f.Add(uint8(channel.ModeAck), []byte("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"))
	f.Add(uint8(channel.ModeNoResponse), []byte("HTTP/1.1 204 No Content\r\n\r\n"))
	f.Add(uint8(channel.ModeNoResponse), []byte("HTTP/1.1 429 Too Many Requests\r\nContent-Length: 2\r\n\r\n{}"))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ln.Close() })
	cfg := channel.Config{MaxHeaderBytes: fuzzMaxHeader, MaxMessage: fuzzMaxMessage, ReadTimeout: 5 * time.Second}.WithDefaults()
	if err := cfg.Validate(); err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, modeByte uint8, reply []byte) {
		channeltest.CheckLeaks(t)
		mode := []channel.Mode{channel.ModeResponse, channel.ModeAck, channel.ModeNoResponse}[int(modeByte)%3]
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)

		c, err := dial(ln.Addr().String(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		e, callErr := fuzzCall(t, ln, c, mode, reply)
		if callErr == nil && e != nil {
			checkReplyEnvelope(t, mode, e)
		}
		if callErr != nil {
			var tl *channel.TooLargeError
			if msg := callErr.Error(); !errors.As(callErr, &tl) && !strings.HasPrefix(msg, "httpchan: ") {
				t.Fatalf("unclear error: %v", callErr)
			}
		}
		// The next call on the same Conn must get its own reply, whatever the first left.
		e2, err := fuzzCall(t, ln, c, channel.ModeResponse, []byte(goodReply))
		if err != nil || e2.Type != channel.TypeResponse || string(e2.Data) != "true" {
			t.Fatalf("the call after a fuzzed reply got %+v, %v", e2, err)
		}
		c.Close()
		if mode == channel.ModeNoResponse {
			s := c.OneWayStats()
			if s.Sent != 1 || s.Delivered+s.Dropped+s.Lost != 1 {
				t.Fatalf("one-way counts %+v, want one send with one outcome", s)
			}
		}
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > fuzzAllocBudget {
			t.Fatalf("one call allocated %d bytes, budget %d", n, fuzzAllocBudget)
		}
		compareNetHTTP(t, reply)
	})
}

// fuzzCall makes one call on c whose reply is the given bytes, written by a server
// goroutine that the call waits for. A noResponse call returns (nil, nil); its outcome
// shows in c's counts once c is closed.
func fuzzCall(t *testing.T, ln net.Listener, c *conn, mode channel.Mode, reply []byte) (*channel.Envelope, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- serveReply(ln, reply) }()
	req := &channel.Envelope{Type: channel.TypeRequest, Mode: mode, Method: "fuzz.reply", Codec: "json", Data: []byte("{}")}
	x, err := c.Open(ctx, req)
	var e *channel.Envelope
	if err == nil && x != nil {
		e, err = x.Recv(ctx)
		if err == nil {
			cp := *e
			e = &cp
			if _, err2 := x.Recv(ctx); err2 != io.EOF {
				t.Fatalf("Recv after a %s: %v, want io.EOF", e.Type, err2)
			}
		} else if _, err2 := x.Recv(ctx); err2 == nil {
			t.Fatalf("Recv after the error %v succeeded", err)
		}
		x.Close()
		x.Close()
	}
	if ctx.Err() != nil {
		t.Fatalf("the call hung until its deadline: %v", err)
	}
	if mode == channel.ModeNoResponse {
		// The reply is read off the caller's goroutine, which counts its outcome last.
		channeltest.EventuallyState(t, 5*time.Second, "the reply to a noResponse call to be read", func() (bool, string) {
			s := c.OneWayStats()
			return s.Delivered+s.Dropped+s.Lost == s.Sent, fmt.Sprintf("%+v", s)
		})
	}
	if serr := <-served; serr != nil {
		t.Fatalf("server side: %v", serr)
	}
	return e, err
}

// serveReply accepts one connection, reads one request off it, writes reply and closes.
func serveReply(ln net.Listener, reply []byte) error {
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	nc, err := ln.Accept()
	if err != nil {
		return err // a call that reused a connection it should have dropped waits here
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	r, err := http.ReadRequest(bufio.NewReader(nc))
	if err != nil {
		return err
	}
	io.Copy(io.Discard, r.Body)
	nc.Write(reply)                // fails when the client gave up early, which is its right
	nc.(*net.TCPConn).CloseWrite() // end of reply, with nothing left unread to turn it into a reset
	return nil
}

// checkReplyEnvelope checks what the client made of a reply it accepted.
func checkReplyEnvelope(t *testing.T, mode channel.Mode, e *channel.Envelope) {
	t.Helper()
	switch {
	case e.Type == channel.TypeError:
		if e.ErrCode == "" {
			t.Fatalf("error envelope without a code: %+v", e)
		}
	case e.Type == channel.TypeResponse && mode == channel.ModeResponse:
	case e.Type == channel.TypeAck && mode == channel.ModeAck:
	default:
		t.Fatalf("a %s call got a %s envelope", mode, e.Type)
	}
	if len(e.Data) > fuzzMaxMessage || len(e.ErrDetails) > maxErrorBody || len(e.Meta.Extra) > channel.MaxExtra {
		t.Fatalf("envelope past the limits: %d bytes of data, %d of details, %d extra meta", len(e.Data), len(e.ErrDetails), len(e.Meta.Extra))
	}
}

// compareNetHTTP reads reply with both the client's reply parser and net/http: where the
// client accepts a head, net/http must read the same status, body framing and jesus
// headers, and keep no connection that net/http would close. Where only the client
// refuses, the refusal is one of the stricter answers TestReplyParserVsNetHTTP documents.
func compareNetHTTP(t *testing.T, reply []byte) {
	t.Helper()
	w := &wireConn{br: bufio.NewReaderSize(bytes.NewReader(reply), wireReadBuffer)}
	var r wireReply
	var lr io.LimitedReader
	ourErr := w.readReply(&r, &lr, fuzzMaxHeader)
	resp, theirErr := netHTTPReply(reply)
	if ourErr != nil {
		return
	}
	if theirErr != nil {
		t.Fatalf("the client accepts a reply head net/http refuses (%v):\n%q", theirErr, reply)
	}
	if resp.StatusCode != r.status {
		t.Fatalf("status: client %d, net/http %d:\n%q", r.status, resp.StatusCode, reply)
	}
	if want := netHTTPLength(resp); r.clen != want {
		t.Fatalf("body length: client %d, net/http %d:\n%q", r.clen, want, reply)
	}
	if r.keep && resp.Close {
		t.Fatalf("the client keeps a connection net/http would close:\n%q", reply)
	}
	for _, h := range []http.Header{resp.Header, r.header} {
		for k := range h {
			if !strings.HasPrefix(k, "Jesus-") && k != "Content-Type" && k != "Content-Encoding" && k != HeaderTrace {
				continue // hop-by-hop and framing headers, which net/http takes out of Header
			}
			if ours, theirs := headerValue(r.header, k), resp.Header.Get(k); ours != theirs {
				t.Fatalf("header %s: client %q, net/http %q:\n%q", k, ours, theirs, reply)
			}
		}
	}
	if r.clen != 0 && r.clen <= fuzzMaxMessage {
		ours, ourErr := io.ReadAll(io.LimitReader(r.body, fuzzMaxMessage))
		theirs, theirErr := io.ReadAll(io.LimitReader(resp.Body, fuzzMaxMessage))
		if ourErr == nil && theirErr == nil && !bytes.Equal(ours, theirs) {
			t.Fatalf("body: client %q, net/http %q:\n%q", ours, theirs, reply)
		}
	}
}

// netHTTPReply reads a reply to a POST as net/http's Transport does: 1xx replies other than
// 101 are skipped, at most five of them.
func netHTTPReply(reply []byte) (*http.Response, error) {
	br := bufio.NewReader(bytes.NewReader(reply))
	req, _ := http.NewRequest(http.MethodPost, "http://h/fuzz.reply", nil)
	for n := 0; ; n++ {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
		if n == maxInformational {
			return nil, errors.New("too many 1xx replies")
		}
	}
}

// netHTTPLength is the body length net/http read from a head, in the client's terms: -1
// for a body that runs until the connection closes or is chunked.
func netHTTPLength(resp *http.Response) int64 {
	if resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified {
		return 0
	}
	return resp.ContentLength
}
