package journal_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/jesus/journal"
)

func keyOf(m jesus.Meta) string { return m.Extra["k"] }

// ack sends id in ack mode to spec with its key in the meta.
func ack(ctx context.Context, c *jesus.Client, spec channel.Spec, id string) error {
	data := []byte(`"` + id + `"`)
	return c.Do(ctx, &jesus.Request{Method: "sink.put", Mode: jesus.ModeAck, Codec: "json", Data: data,
		Extra: map[string]string{"k": id}, Route: jesus.NewRoute(spec, "")})
}

func listen(t *testing.T, s *jesus.Server) channel.Spec {
	t.Helper()
	sp, err := s.Listen(context.Background(), "tcp+json://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// TestHardStopThenReplay: requests acked by a server that stopped hard in the middle of
// their handlers run again, once, when a server on the same journal starts.
func TestHardStopThenReplay(t *testing.T) {
	channeltest.CheckLeaks(t)
	path := filepath.Join(t.TempDir(), "j.db")
	j, err := journal.Open(path, journal.WithKey(keyOf))
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan string, 8)
	s1 := jesus.NewServer("sink", jesus.WithJournal(j))
	jesus.HandleOneWay(s1, "put", func(ctx context.Context, id string) error {
		started <- id
		<-ctx.Done() // cut by the hard stop
		return ctx.Err()
	})
	sp := listen(t, s1)
	c := jesus.NewClient("src")
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, id := range []string{"a", "b", "c"} {
		if err := ack(ctx, c, sp, id); err != nil {
			t.Fatal(err)
		}
		<-started
	}
	s1.Close()
	if n := j.Len(); n != 3 {
		t.Fatalf("%d pending after the hard stop, want 3", n)
	}
	j.Close()

	j2, err := journal.Open(path, journal.WithKey(keyOf))
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	var mu sync.Mutex
	ran := map[string]int{}
	s2 := jesus.NewServer("sink", jesus.WithJournal(j2))
	defer s2.Close()
	jesus.HandleOneWay(s2, "put", func(ctx context.Context, id string) error {
		mu.Lock()
		ran[id]++
		mu.Unlock()
		return nil
	})
	sp2 := listen(t, s2)
	channeltest.Eventually(t, 10*time.Second, "the replay", func() bool { return s2.Stats().Replayed == 3 && j2.Len() == 0 })
	// A sender retrying "b" (its ack lost) is acked again, and b does not run twice.
	if err := ack(ctx, c, sp2, "b"); err != nil {
		t.Fatal(err)
	}
	if err := ack(ctx, c, sp2, "d"); err != nil {
		t.Fatal(err)
	}
	channeltest.Eventually(t, 10*time.Second, "d", func() bool { mu.Lock(); defer mu.Unlock(); return ran["d"] == 1 })
	mu.Lock()
	defer mu.Unlock()
	if ran["a"] != 1 || ran["b"] != 1 || ran["c"] != 1 || s2.Stats().Duplicates != 1 {
		t.Fatalf("ran %v, stats %+v", ran, s2.Stats())
	}
}

// TestDuplicateKeyAckedWithoutRunning: within the window, a request whose key was
// accepted before is acked and not run.
func TestDuplicateKeyAckedWithoutRunning(t *testing.T) {
	channeltest.CheckLeaks(t)
	j, err := journal.Open(filepath.Join(t.TempDir(), "j.db"), journal.WithKey(keyOf))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var runs atomic.Int64
	s := jesus.NewServer("sink", jesus.WithJournal(j))
	defer s.Close()
	jesus.HandleOneWay(s, "put", func(ctx context.Context, id string) error { runs.Add(1); return nil })
	sp := listen(t, s)
	c := jesus.NewClient("src")
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for range 3 {
		if err := ack(ctx, c, sp, "same"); err != nil {
			t.Fatal(err)
		}
	}
	channeltest.Eventually(t, 10*time.Second, "the run", func() bool { return runs.Load() == 1 && j.Len() == 0 })
	if st := s.Stats(); st.Duplicates != 2 || runs.Load() != 1 {
		t.Fatalf("runs %d, stats %+v", runs.Load(), st)
	}
}

// TestMain runs this test binary as the receiver process of TestKillDuringFlood when
// JOURNAL_CHILD is set.
func TestMain(m *testing.M) {
	if os.Getenv("JOURNAL_CHILD") != "" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

// child serves sink.put with a journal; each handler works for 20 ms, then appends its
// id to the log file. It prints its channel and serves until killed.
func child() int {
	j, err := journal.Open(os.Getenv("JOURNAL_PATH"), journal.WithKey(keyOf))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log, err := os.OpenFile(os.Getenv("JOURNAL_LOG"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s := jesus.NewServer("sink", jesus.WithJournal(j))
	jesus.HandleOneWay(s, "put", func(ctx context.Context, id string) error {
		select {
		case <-time.After(20 * time.Millisecond): // the handler's work
		case <-ctx.Done():
			return ctx.Err()
		}
		_, err := log.WriteString(id + "\n")
		return err
	})
	sp, err := s.Listen(context.Background(), "tcp+json://127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(sp.String())
	select {} // until killed
}

// startChild starts the receiver process and returns it with its channel.
func startChild(t *testing.T, dbPath, logPath string) (*exec.Cmd, channel.Spec) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "JOURNAL_CHILD=1", "JOURNAL_PATH="+dbPath, "JOURNAL_LOG="+logPath)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("receiver: %v", err)
	}
	sp, err := channel.ParseSpec(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	return cmd, sp
}

// TestKillDuringFlood: 16 senders ack-send 400 keyed requests to a receiver process with
// a journal; it is killed with SIGKILL midway and started again on the same journal; the
// senders retry what was not acked. Every request is handled, none is lost, and a
// request runs twice only if it was still in the journal at the kill (its handler cut
// between its work and the journal's commit).
func TestKillDuringFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	dbPath, logPath := filepath.Join(dir, "j.db"), filepath.Join(dir, "handled.log")
	cmd, sp := startChild(t, dbPath, logPath)
	const senders, total = 16, 400
	ids := make(chan string, total)
	for i := range total {
		ids <- fmt.Sprintf("m%03d", i)
	}
	close(ids)
	var acked sync.Map
	var nAcked atomic.Int64
	var failedMu sync.Mutex
	var failed []string
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := jesus.NewClient("src")
	defer c.Close()
	killed := make(chan struct{})
	var killOnce sync.Once
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				if err := ack(ctx, c, sp, id); err != nil {
					failedMu.Lock()
					failed = append(failed, id)
					failedMu.Unlock()
					continue
				}
				acked.Store(id, true)
				if nAcked.Add(1) == total/3 {
					killOnce.Do(func() { cmd.Process.Kill(); close(killed) })
				}
			}
		}()
	}
	wg.Wait()
	<-killed
	cmd.Wait()
	t.Logf("before the kill: %d acked, %d failed", nAcked.Load(), len(failed))
	// What the dead process left in its journal: these, and only these, may run twice.
	j, err := journal.Open(dbPath, journal.WithKey(keyOf))
	if err != nil {
		t.Fatal(err)
	}
	left, err := j.Pending()
	j.Close()
	if err != nil {
		t.Fatal(err)
	}
	pending := map[string]bool{}
	for _, e := range left {
		pending[strings.Trim(string(e.Data), `"`)] = true
	}

	_, sp2 := startChild(t, dbPath, logPath)
	c2 := jesus.NewClient("src")
	defer c2.Close()
	for _, id := range failed { // the senders retry what was not acked
		if err := ack(ctx, c2, sp2, id); err != nil {
			t.Fatalf("retry %s: %v", id, err)
		}
		acked.Store(id, true)
	}
	handled := func() map[string]int {
		raw, _ := os.ReadFile(logPath)
		m := map[string]int{}
		for _, l := range strings.Fields(string(raw)) {
			m[l]++
		}
		return m
	}
	channeltest.Eventually(t, 30*time.Second, "every request handled", func() bool { return len(handled()) == total })
	twice := 0
	for id, n := range handled() {
		if _, ok := acked.Load(id); !ok {
			t.Errorf("%s handled but never acked", id)
		}
		if n > 2 || n == 2 && !pending[id] {
			t.Errorf("%s handled %d times; only a request pending in the journal at the kill may run twice", id, n)
		}
		if n > 1 {
			twice++
		}
	}
	t.Logf("MEASURE %d requests, %d acked before the kill, %d retried after it; %d pending in the journal at the kill; all %d handled, %d of them twice", total, total-len(failed), len(failed), len(pending), total, twice)
}
