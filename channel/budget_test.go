package channel_test

import (
	"context"
	"runtime/debug"
	"testing"

	"github.com/jesus-go/jesus/channel"
)

func TestBudget(t *testing.T) {
	b := channel.NewBudget(100)
	if !b.Acquire(60) || b.Acquire(41) || !b.Acquire(40) {
		t.Fatal("Acquire does not follow the limit")
	}
	if b.Used() != 100 || b.Refused() != 1 {
		t.Fatalf("used %d refused %d", b.Used(), b.Refused())
	}
	b.Release(60)
	if !b.Acquire(60) {
		t.Fatal("released bytes are not available again")
	}
	var none *channel.Budget
	if !none.Acquire(1 << 40) {
		t.Fatal("a nil budget refused")
	}
	ctx := channel.WithBudget(context.Background(), b)
	if channel.BudgetFrom(ctx) != b || channel.BudgetFrom(context.Background()) != nil {
		t.Fatal("BudgetFrom")
	}
}

func TestDefaultMemoryBudget(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)
	debug.SetMemoryLimit(1 << 30)
	if got := channel.DefaultMemoryBudget(); got != 256<<20 {
		t.Fatalf("with GOMEMLIMIT 1 GiB: %d, want a quarter", got)
	}
	debug.SetMemoryLimit(64 << 20)
	if got := channel.DefaultMemoryBudget(); got != 32<<20 {
		t.Fatalf("with GOMEMLIMIT 64 MiB: %d, want the 32 MiB floor", got)
	}
	if got := (channel.Config{}).WithDefaults(); got.MemoryBudget != 32<<20 || got.MaxConns != 1024 {
		t.Fatalf("defaults: budget %d, max conns %d", got.MemoryBudget, got.MaxConns)
	}
	if err := (channel.Config{MemoryBudget: 1 << 20}).WithDefaults().Validate(); err == nil {
		t.Fatal("a budget below MaxMessage passed Validate")
	}
}
