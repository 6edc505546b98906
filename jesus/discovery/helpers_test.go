package discovery_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jesus-go/jesus/channel/channeltest"
	"github.com/jesus-go/jesus/schema"
)

// leakCheck fails the test on goroutines left running after it.
var leakCheck = channeltest.CheckLeaks

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func loadSchemas(t testing.TB) *schema.Set {
	t.Helper()
	set, err := schema.LoadDir(filepath.Join("..", "..", "schemas"))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// waitFor waits until cond holds (see channeltest.Eventually) and says how long it took.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	return channeltest.Eventually(t, 15*time.Second, what, cond)
}

type Money struct {
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}
