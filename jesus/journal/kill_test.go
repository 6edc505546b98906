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

// TestMain runs this test binary as the receiver process of the kill tests when
// JOURNAL_CHILD is set.
func TestMain(m *testing.M) {
	if os.Getenv("JOURNAL_CHILD") != "" {
		os.Exit(child())
	}
	os.Exit(m.Run())
}

// progress is what sink.progress tells of a receiver whose handlers commit.
type progress struct {
	Handled    map[string]int `json:"handled"` // runs committed, by id
	Pending    int            `json:"pending"`
	Replayed   uint64         `json:"replayed"`
	Duplicates uint64         `json:"duplicates"`
}

// child serves sink.put with a journal; each handler works for 20 ms, then records its
// id: with JOURNAL_COMMIT set, in the journal's own file through Commit (sink.progress
// reports them), else appended to the log file. It prints its channel and serves until
// killed.
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
	commit := os.Getenv("JOURNAL_COMMIT") != ""
	s := jesus.NewServer("sink", jesus.WithJournal(j))
	jesus.HandleOneWay(s, "put", func(ctx context.Context, id string) error {
		select {
		case <-time.After(20 * time.Millisecond): // the handler's work
		case <-ctx.Done():
			return ctx.Err()
		}
		if commit {
			return j.Commit(ctx, countRun(id))
		}
		_, err := log.WriteString(id + "\n")
		return err
	})
	jesus.Handle(s, "progress", func(ctx context.Context, _ struct{}) (progress, error) {
		st := s.Stats()
		p := progress{Pending: j.Len(), Replayed: st.Replayed, Duplicates: st.Duplicates}
		var err error
		p.Handled, err = runs(j)
		return p, err
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
func startChild(t *testing.T, dbPath, logPath string, commit bool) (*exec.Cmd, channel.Spec) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "JOURNAL_CHILD=1", "JOURNAL_PATH="+dbPath, "JOURNAL_LOG="+logPath)
	if commit {
		cmd.Env = append(cmd.Env, "JOURNAL_COMMIT=1")
	}
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

const floodTotal = 400

// flood has 16 senders ack-send floodTotal keyed requests (m000, m001, ...) to sp, and
// kills cmd with SIGKILL once a third of them were acked. It returns when every request
// was acked or failed, and the process is dead.
func flood(ctx context.Context, t *testing.T, cmd *exec.Cmd, sp channel.Spec) (acked *sync.Map, failed []string) {
	const senders = 16
	ids := make(chan string, floodTotal)
	for i := range floodTotal {
		ids <- fmt.Sprintf("m%03d", i)
	}
	close(ids)
	acked = new(sync.Map)
	var nAcked atomic.Int64
	var failedMu sync.Mutex
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
				if nAcked.Add(1) == floodTotal/3 {
					killOnce.Do(func() { cmd.Process.Kill(); close(killed) })
				}
			}
		}()
	}
	wg.Wait()
	<-killed
	cmd.Wait()
	t.Logf("before the kill: %d acked, %d failed", nAcked.Load(), len(failed))
	return acked, failed
}

// retry acks again, to the restarted receiver, what the senders saw fail.
func retry(ctx context.Context, t *testing.T, sp channel.Spec, failed []string, acked *sync.Map) {
	t.Helper()
	c := jesus.NewClient("src")
	defer c.Close()
	for _, id := range failed {
		if err := ack(ctx, c, sp, id); err != nil {
			t.Fatalf("retry %s: %v", id, err)
		}
		acked.Store(id, true)
	}
}

// leftAtKill opens the dead process's journal: the ids of the requests pending in it, and
// how many requests had committed (JOURNAL_COMMIT).
func leftAtKill(t *testing.T, dbPath string) (pending map[string]bool, committed int) {
	t.Helper()
	j, err := journal.Open(dbPath, journal.WithKey(keyOf))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	left, err := j.Pending()
	if err != nil {
		t.Fatal(err)
	}
	pending = map[string]bool{}
	for _, e := range left {
		pending[strings.Trim(string(e.Data), `"`)] = true
	}
	done, err := runs(j)
	if err != nil {
		t.Fatal(err)
	}
	return pending, len(done)
}

// killRun is what killMidFlood leaves to check.
type killRun struct {
	ctx       context.Context // bounds the run
	logPath   string          // where the receiver processes log what they handled
	acked     *sync.Map       // the requests acked, before the kill or after it
	failed    []string        // the requests not acked before the kill
	pending   map[string]bool // the requests pending in the journal at the kill
	committed int             // the requests committed in the journal at the kill
	restarted channel.Spec    // the receiver started again after the kill
}

// killMidFlood floods a receiver process with a journal (its handlers committing when
// commit is set) until it is killed midway, reads what the dead process left in its
// journal, starts it again on the same journal, and retries what was not acked.
func killMidFlood(t *testing.T, commit bool) killRun {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	k := killRun{logPath: filepath.Join(dir, "handled.log")}
	dbPath := filepath.Join(dir, "j.db")
	cmd, sp := startChild(t, dbPath, k.logPath, commit)
	ctx := channeltest.Context(t, 60*time.Second)
	k.ctx = ctx
	k.acked, k.failed = flood(ctx, t, cmd, sp)
	k.pending, k.committed = leftAtKill(t, dbPath)
	_, k.restarted = startChild(t, dbPath, k.logPath, commit)
	retry(ctx, t, k.restarted, k.failed, k.acked)
	return k
}

// TestKillDuringFlood: 16 senders ack-send 400 keyed requests to a receiver process with
// a journal, whose handlers do not commit; it is killed with SIGKILL midway and started
// again on the same journal; the senders retry what was not acked. Every request is
// handled, none is lost, and a request runs twice only if it was still in the journal at
// the kill (its handler cut between its work and the journal's removal): at least once.
func TestKillDuringFlood(t *testing.T) {
	k := killMidFlood(t, false)
	acked, failed := k.acked, k.failed
	// What the dead process left in its journal: these, and only these, may run twice.
	pending := k.pending
	handled := func() map[string]int {
		raw, _ := os.ReadFile(k.logPath)
		m := map[string]int{}
		for _, l := range strings.Fields(string(raw)) {
			m[l]++
		}
		return m
	}
	channeltest.Eventually(t, 30*time.Second, "every request handled", func() bool { return len(handled()) == floodTotal })
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
	t.Logf("MEASURE plain: %d requests, %d acked before the kill, %d retried after it; %d pending in the journal at the kill; all %d handled, %d of them twice", floodTotal, floodTotal-len(failed), len(failed), len(pending), floodTotal, twice)
}

// TestKillDuringFloodCommitted is TestKillDuringFlood with handlers that record their
// effect through Commit, in a bucket of the journal's own file: after the kill, the
// restart, the replay and the senders' retries, every request was handled exactly once.
func TestKillDuringFloodCommitted(t *testing.T) {
	k := killMidFlood(t, true)
	ctx, acked, failed, pending, committed := k.ctx, k.acked, k.failed, k.pending, k.committed
	c := jesus.NewClient("src", jesus.WithTarget(k.restarted.String()))
	defer c.Close()
	var p progress
	channeltest.Eventually(t, 30*time.Second, "every request handled", func() bool {
		var err error
		p, err = jesus.Call[struct{}, progress](ctx, c, "sink.progress", struct{}{})
		// A replayed request is counted once its handler returned, after its commit.
		return err == nil && len(p.Handled) == floodTotal && p.Pending == 0 && p.Replayed >= uint64(len(pending))
	})
	for id, n := range p.Handled {
		if _, ok := acked.Load(id); !ok {
			t.Errorf("%s handled but never acked", id)
		}
		if n != 1 {
			t.Errorf("%s handled %d times, want exactly once", id, n)
		}
	}
	if p.Replayed != uint64(len(pending)) {
		t.Errorf("%d replayed, want the %d pending at the kill", p.Replayed, len(pending))
	}
	t.Logf("MEASURE committed: %d requests, %d acked before the kill, %d retried after it (%d of them duplicates); %d committed and %d pending in the journal at the kill, %d replayed; all %d handled, each exactly once",
		floodTotal, floodTotal-len(failed), len(failed), p.Duplicates, committed, len(pending), p.Replayed, len(p.Handled))
}
