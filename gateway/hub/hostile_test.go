package hub_test

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/gateway/hub"
)

func get(t testing.TB, ctx context.Context, c *http.Client, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// Bad requests get a code, a status and a message that says what to do.
func TestBadInput(t *testing.T) {
	leakCheck(t)
	reg, cache, _ := registryWith(t)
	h, addr := startHub(t, hub.Config{Registry: reg, Cache: cache, MaxBody: 1 << 10, MaxQueue: 2, CallWait: 5 * time.Second})
	base := "http://" + addr
	eventually(t, "descriptors in the hub", func() bool {
		code, _, _ := post(t, base+"/service/nosuch", `{}`)
		c2, _, _ := post(t, base+"/service/pyecho", `{}`)
		return code == 404 && c2 == 400
	})
	cases := []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		code, says               string
	}{
		{"oversized body", "POST", "/service/pyecho.echo", `{"text":"` + strings.Repeat("x", 2<<10) + `"}`, nil, 413, "resource_exhausted", "limit of 1024 bytes"},
		{"malformed JSON", "POST", "/service/pyecho.echo", `{"text":`, nil, 400, "invalid_argument", "not JSON"},
		{"unknown service", "POST", "/service/nosuch", `{}`, nil, 404, "not_found", `unknown service \"nosuch\"`},
		{"unknown method", "POST", "/service/pyecho.nope", `{}`, nil, 404, "not_found", `declares no method \"nope\"`},
		{"no method", "POST", "/service/pyecho", `{}`, nil, 400, "invalid_argument", "/service/pyecho.<method>"},
		{"bad service name", "POST", "/service/a%20b", `{}`, nil, 400, "invalid_argument", "service name"},
		{"schema", "POST", "/service/pyecho.echo", `{}`, nil, 400, "invalid_argument", "fails its schema"},
		{"bad timeout", "POST", "/service/pyecho.echo", `{"text":"x"}`, []string{"Jesus-Timeout", "soon"}, 400, "invalid_argument", "milliseconds"},
		{"wrong verb", "GET", "/service/pyecho.echo", ``, nil, 405, "unimplemented", "use POST"},
		{"unknown path", "GET", "/nothing/here", ``, nil, 404, "not_found", "no such endpoint"},
		{"bad wait", "GET", "/service/pyecho/jobs?wait=forever", ``, nil, 400, "invalid_argument", "not a duration"},
		{"poll a method", "GET", "/service/pyecho.echo/jobs", ``, nil, 400, "invalid_argument", "not of a method"},
		{"answer unknown job", "POST", "/jobs/abc", `{}`, nil, 404, "not_found", `no open job \"abc\"`},
		{"answer too large", "POST", "/jobs/abc", strings.Repeat(" ", 2<<10), nil, 413, "resource_exhausted", "limit"},
		{"answer id too long", "POST", "/jobs/" + strings.Repeat("a", 100), `{}`, nil, 400, "invalid_argument", "at most 64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(testCtx(t), tc.method, base+tc.path, strings.NewReader(tc.body))
			for i := 0; i+1 < len(tc.hdr); i += 2 {
				req.Header.Set(tc.hdr[i], tc.hdr[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || resp.Header.Get("Jesus-Error-Code") != tc.code || !strings.Contains(string(b), tc.says) {
				t.Fatalf("%s %s: %d %s %s", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Jesus-Error-Code"), b)
			}
		})
	}

	// A full queue refuses with resource_exhausted; a caller whose deadline passes gets
	// deadline_exceeded and its job leaves the queue.
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, body := post(t, base+"/service/pyecho.echo", `{"text":"x"}`, "Jesus-Timeout", "1500")
			if code != 504 || !strings.Contains(body, "deadline_exceeded") {
				t.Errorf("waiting call: %d %s", code, body)
			}
		}()
	}
	eventually(t, "two queued jobs", func() bool { return h.Stats().Queued == 2 })
	code, _, body := post(t, base+"/service/pyecho.echo", `{"text":"x"}`)
	if code != 429 || !strings.Contains(body, "queue of pyecho is full") {
		t.Fatalf("third job: %d %s", code, body)
	}
	wg.Wait()
	if s := h.Stats(); s.Queued != 0 || s.Bytes != 0 {
		t.Fatalf("after the deadlines: %+v", s)
	}
}

// A poll whose client disconnects leaves nothing behind, and a job never goes to it.
func TestPollDisconnect(t *testing.T) {
	leakCheck(t)
	h, addr := startHub(t, hub.Config{})
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() {
		_, _, err := get(t, ctx, c, "http://"+addr+"/service/q/jobs?wait=30s")
		done <- err
	}()
	eventually(t, "the poll waiting", func() bool { return h.Stats().Waiting == 1 })
	cancel()
	if err := <-done; err == nil {
		t.Fatal("cancelled poll returned no error")
	}
	eventually(t, "the poll gone", func() bool { return h.Stats().Waiting == 0 })

	// A job queued now waits for the next poll and is not lost.
	res := make(chan string, 1)
	go func() {
		_, _, body := post(t, "http://"+addr+"/service/q", `{"n":1}`)
		res <- body
	}()
	eventually(t, "the job queued", func() bool { return h.Stats().Queued == 1 })
	code, job, err := get(t, testCtx(t), c, "http://"+addr+"/service/q/jobs?wait=5s")
	if err != nil || code != 200 || !strings.Contains(job, `"originalRequest":{"n":1}`) {
		t.Fatalf("poll: %d %s %v", code, job, err)
	}
	id := job[strings.Index(job, `"id":"`)+6:]
	id = id[:strings.Index(id, `"`)]
	if code, _, body := post(t, "http://"+addr+"/jobs/"+id, `{"ok":true}`); code != 200 {
		t.Fatalf("answer: %d %s", code, body)
	}
	if r := <-res; r != `{"ok":true}` {
		t.Fatalf("caller got %s", r)
	}
	if code, _, body := post(t, "http://"+addr+"/jobs/"+id, `{"ok":true}`); code != 404 {
		t.Fatalf("second answer: %d %s", code, body)
	}
}

// A thousand long-polls wait at once in bounded memory; one more than the limit is
// refused; when their clients go, nothing is left.
func TestThousandPolls(t *testing.T) {
	leakCheck(t)
	const n = 1000
	h, addr := startHub(t, hub.Config{MaxWaiters: n})
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	defer c.CloseIdleConnections()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	ctx, cancel := context.WithCancel(testCtx(t))
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = get(t, ctx, c, "http://"+addr+"/service/many/jobs?wait=60s")
		}()
	}
	eventually(t, "1000 polls waiting", func() bool { return h.Stats().Waiting == n })
	code, body, err := get(t, testCtx(t), http.DefaultClient, "http://"+addr+"/service/many/jobs?wait=60s")
	if err != nil || code != 429 || !strings.Contains(body, "1000 long-polls waiting") {
		t.Fatalf("poll 1001: %d %s %v", code, body, err)
	}
	runtime.GC()
	var during runtime.MemStats
	runtime.ReadMemStats(&during)
	perPoll := (int64(during.HeapInuse) - int64(before.HeapInuse)) / n
	t.Logf("heap per waiting poll, client and server side together: %d bytes", perPoll)
	if perPoll > 64<<10 {
		t.Fatalf("a waiting poll holds %d bytes of heap", perPoll)
	}
	cancel()
	wg.Wait()
	eventually(t, "the polls gone", func() bool { return h.Stats().Waiting == 0 })
	http.DefaultClient.CloseIdleConnections()
}
