package dashboard_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jesus-go/jesus/jesus/discovery"

	"github.com/chromedp/chromedp"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/cmd/jesus/internal/dashboard"
	"github.com/jesus-go/jesus/cmd/jesus/internal/demo"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
	"github.com/jesus-go/jesus/schema/registry/registrytest"
)

var schemasDir = filepath.Join("..", "..", "..", "..", "schemas")

const orderJSON = `{"customer":{"id":"c-1","email":"ada@example.com"},"currency":"EUR",
  "lines":[{"sku":"BOK-1001","quantity":2,"unitPrice":{"amount":10.5,"currency":"EUR"}}]}`

// world starts an embedded etcd and the demo's services, and keeps traffic flowing to
// orders (creates, and gets of a missing order that fail) until the test ends.
func world(t *testing.T) *registry.Cache {
	t.Helper()
	_, reg, cache := registrytest.Start(t, 2*time.Second)
	set, err := schema.LoadDir(schemasDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, _, err := demo.StartServices(ctx, &demo.World{Set: set, Reg: reg, Cache: cache, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	disc := discovery.New(cache)
	cl := jesus.NewClient("traffic", jesus.WithResolver(disc))
	var order any
	dec := json.NewDecoder(strings.NewReader(orderJSON))
	dec.UseNumber() // integers stay integers on the wire, as the CLI sends them
	if err := dec.Decode(&order); err != nil {
		t.Fatal(err)
	}
	tctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-tctx.Done():
				return
			case <-tick.C:
			}
			if i%5 == 4 {
				_, _ = jesus.Call[any, any](tctx, cl, "orders.get", map[string]any{"id": "missing"})
			} else {
				_, _ = jesus.Call[any, any](tctx, cl, "orders.create", order)
			}
		}
	})
	t.Cleanup(func() {
		stop()
		wg.Wait()
		cl.Close()
		disc.Close()
		s.Close()
	})
	return cache
}

// serve starts a dashboard over cache on a free loopback port and returns its URL.
func serve(t *testing.T, cache *registry.Cache) (*dashboard.Dashboard, string) {
	t.Helper()
	d := dashboard.New(dashboard.Config{Cache: cache, Interval: 200 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
		d.Close()
	})
	return d, "http://" + ln.Addr().String() + "/"
}

func TestStateFollowsTraffic(t *testing.T) {
	channeltest.CheckLeaks(t)
	cache := world(t)
	d, _ := serve(t, cache)
	var get, create dashboard.Method
	channeltest.EventuallyState(t, 30*time.Second, "traffic and errors in the state", func() (bool, string) {
		st := d.State()
		for _, s := range st.Services {
			for _, m := range s.Methods {
				switch m.Name {
				case "orders.get":
					get = m
				case "orders.create":
					create = m
				}
			}
		}
		return create.Rate > 0 && get.Errors > 0 && get.ErrorRate > 0 && len(st.Compat.Pairs) > 0 && len(st.Events) > 0,
			fmt.Sprintf("create %+v get %+v, %d compat pairs, %d events", create, get, len(st.Compat.Pairs), len(st.Events))
	})
	if !strings.HasPrefix(get.LastError, "not_found") || create.Errors != 0 || create.Mode != "response" || create.Channel != "rpc" || len(create.Request) == 0 {
		t.Fatalf("create %+v get %+v", create, get)
	}
}

// chromium is the browser binary the page test drives, "" when there is none.
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestPageInChromium loads the page in headless Chromium against the running services:
// it lists them, and the request count of orders.create grows while traffic flows.
// JESUS_DASHBOARD_SCREENSHOT=path also writes a screenshot of the page there.
func TestPageInChromium(t *testing.T) {
	bin := chromium()
	if bin == "" {
		t.Skip("no chromium binary on PATH (Debian: apt-get install chromium)")
	}
	channeltest.CheckLeaks(t)
	cache := world(t)
	_, url := serve(t, cache)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1400, 1300),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()

	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(`#services tr[data-service="orders"]`)); err != nil {
		t.Fatal(err)
	}
	services, err := chromedp.Run(ctx, chromedp.Text(`#services tbody`))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"orders", "billing", "audit"} {
		if !strings.Contains(services, s) {
			t.Fatalf("services table lacks %s:\n%s", s, services)
		}
	}
	// The page renders its tables again at every poll: the cell is read in one
	// evaluation, and a read between two renders (no cell, no number) is tried again.
	count := func() (int, bool) {
		txt, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`(document.querySelector('#methods tr[data-method="orders.create"] td.requests') || {}).textContent || ""`))
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(txt))
		return n, err == nil
	}
	var first int
	channeltest.Eventually(t, 30*time.Second, "a request count of orders.create on the page", func() bool {
		var ok bool
		first, ok = count()
		return ok
	})
	channeltest.EventuallyState(t, 30*time.Second, "the request count of orders.create to grow", func() (bool, string) {
		n, ok := count()
		return ok && n > first, fmt.Sprintf("first %d, now %d (read %v)", first, n, ok)
	})
	verdict, err := chromedp.Run(ctx, chromedp.Text(`#verdict`))
	if err != nil || verdict == "" {
		t.Fatalf("compat verdict %q: %v", verdict, err)
	}
	if path := os.Getenv("JESUS_DASHBOARD_SCREENSHOT"); path != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	cancelBrowser()
	if err := chromedp.Cancel(bctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Log(err)
	}
}
