package tour_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/cmd/jesus/internal/tour"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
)

// leakCheck fails the test on goroutines left running after it.
var leakCheck = channeltest.CheckLeaks

// blocks returns the fenced code blocks of README.md in the given language.
func blocks(t *testing.T, readme, lang string) []string {
	t.Helper()
	re := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(readme, -1) {
		out = append(out, m[1])
	}
	return out
}

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReadmeGoIsThisCode: every Go block of the README is a verbatim part of tour.go.
func TestReadmeGoIsThisCode(t *testing.T) {
	src, err := os.ReadFile("tour.go")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir("../../../..")
	gos := blocks(t, readme(t), "go")
	if len(gos) < 4 {
		t.Fatalf("README has %d Go blocks, want the server, client, listener and emitter", len(gos))
	}
	for _, b := range gos {
		if !strings.Contains(string(src), b) {
			t.Errorf("README Go block is not part of tour.go:\n%s", b)
		}
	}
}

// TestReadmeSchemaExcerpt: the README's excerpt of orders.json matches the file.
func TestReadmeSchemaExcerpt(t *testing.T) {
	t.Chdir("../../../..")
	js := blocks(t, readme(t), "json")
	if len(js) == 0 {
		t.Fatal("README has no schema excerpt")
	}
	var excerpt, file map[string]any
	if err := json.Unmarshal([]byte(js[0]), &excerpt); err != nil {
		t.Fatalf("README excerpt: %v", err)
	}
	b, err := os.ReadFile("schemas/orders.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	for k, v := range excerpt {
		switch sub := v.(type) {
		case map[string]any:
			for name, part := range sub {
				if !reflect.DeepEqual(part, file[k].(map[string]any)[name]) {
					t.Errorf("README's %s.%s differs from schemas/orders.json", k, name)
				}
			}
		default:
			if !reflect.DeepEqual(v, file[k]) {
				t.Errorf("README's %s is %v, schemas/orders.json says %v", k, v, file[k])
			}
		}
	}
}

// curlRequest parses the README's curl line: headers, body and URL.
func curlRequest(t *testing.T, line string) (http.Header, string, string) {
	t.Helper()
	re := regexp.MustCompile(`-H '([^']*)'|-d '([^']*)'|(http://\S+)`)
	h := http.Header{}
	var body, url string
	for _, m := range re.FindAllStringSubmatch(line, -1) {
		switch {
		case m[1] != "":
			k, v, _ := strings.Cut(m[1], ":")
			h.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		case m[2] != "":
			body = m[2]
		default:
			url = m[3]
		}
	}
	if url == "" || body == "" {
		t.Fatalf("cannot parse the curl line %q", line)
	}
	return h, body, url
}

// TestTour runs the tour's code against an embedded etcd, and the README's curl request
// (with net/http) against the server of the tour.
func TestTour(t *testing.T) {
	leakCheck(t)
	t.Chdir("../../../..") // the tour runs from the repository root
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	local, err := tour.Registry(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	reg, cache := local.Registry, local.Cache

	srv, err := tour.Server(ctx, reg, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	waitInstance(t, ctx, cache, "orders")
	ord, err := tour.Client(ctx, cache)
	if err != nil || ord.ID != "o-1" || ord.Status != "paid" {
		t.Fatalf("Client: %+v %v", ord, err)
	}
	tourTiming(t, ctx, srv)
	readmeCurl(t, ctx, srv)
	tourEvent(t, ctx, reg, cache)
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
}

// tourTiming checks the tour's interceptor, on a client of srv.
func tourTiming(t *testing.T, ctx context.Context, srv *jesus.Server) {
	var seen []string
	timing := tour.Timing(func(method string, took time.Duration, code jesus.Code) {
		seen = append(seen, fmt.Sprintf("%s %q", method, code))
	})
	tc := jesus.NewClient("shop", jesus.WithTarget(srv.Endpoints()["rpc"]), jesus.WithInterceptors(timing))
	defer tc.Close()
	if _, err := jesus.Call[tour.OrderRef, tour.Order](ctx, tc, "orders.get", tour.OrderRef{ID: "o-2"}); jesus.CodeOf(err) != jesus.CodeNotFound {
		t.Fatalf("o-2: %v", err)
	}
	if len(seen) != 1 || seen[0] != `orders.get "not_found"` {
		t.Fatalf("Timing saw %q", seen)
	}
}

// readmeCurl sends the README's curl, exactly, to srv's real address instead of
// 127.0.0.1:8080.
func readmeCurl(t *testing.T, ctx context.Context, srv *jesus.Server) {
	var curl string
	for _, b := range blocks(t, readme(t), "sh") {
		for _, l := range strings.Split(b, "\n") {
			if strings.HasPrefix(l, "curl ") {
				curl = l
			}
		}
	}
	h, body, url := curlRequest(t, curl)
	if !strings.Contains(url, "127.0.0.1:8080") {
		t.Fatalf("README's curl URL %q does not use the tour's address", url)
	}
	addr := strings.TrimPrefix(srv.Endpoints()["domain"], "http+json+gzip://")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.Replace(url, "127.0.0.1:8080", addr, 1), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(got), `"id":"o-1"`) {
		t.Fatalf("curl: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), got)
	}
}

// tourEvent runs the tour's event: billing listens, orders emits.
func tourEvent(t *testing.T, ctx context.Context, reg *registry.Registry, cache *registry.Cache) {
	set, err := schema.LoadDir("schemas")
	if err != nil {
		t.Fatal(err)
	}
	billing := jesus.NewServer("billing")
	defer billing.Close()
	evs := make(chan tour.OrderEvent, 1)
	bus, err := tour.Listen(set, billing, evs)
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	if _, err := billing.ListenChannel(ctx, "domain", "http+json+gzip://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if _, err := discovery.Register(ctx, billing, reg, set.Service("billing")); err != nil {
		t.Fatal(err)
	}
	waitInstance(t, ctx, cache, "billing")
	disc := discovery.New(cache)
	defer disc.Close()
	shop := jesus.NewClient("orders")
	defer shop.Close()
	res, err := tour.Emit(ctx, set, disc, shop)
	if err != nil || !reflect.DeepEqual(res.Acked, []string{"billing"}) {
		t.Fatalf("Emit: %+v %v", res, err)
	}
	select {
	case ev := <-evs:
		if ev.OrderID != "o-1" {
			t.Fatalf("billing got %+v", ev)
		}
	case <-ctx.Done():
		t.Fatal("billing's handler did not run")
	}
	sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
	defer scancel()
	billing.Shutdown(sctx)
}

func waitInstance(t *testing.T, ctx context.Context, cache *registry.Cache, svc string) {
	t.Helper()
	ch, stop := cache.Subscribe()
	defer stop()
	for len(cache.Instances(svc)) == 0 {
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("no instance of %s", svc)
		}
	}
}

func TestDurable(t *testing.T) {
	srv, j, err := tour.Durable(filepath.Join(t.TempDir(), "billing.journal"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	defer srv.Close()
	if j.Len() != 0 {
		t.Fatalf("%d pending in a new journal", j.Len())
	}
}
