package channel

import (
	"context"
	"math"
	"runtime/debug"
	"sync/atomic"
)

// Budget is a memory budget in bytes shared by everything a server holds for its peers:
// connections (their buffers), frames and bodies being read, queued replies. Whoever is
// about to hold memory for a peer acquires it first and is refused (CodeResourceExhausted,
// or the connection is closed) when the budget is spent, so that no number of peers can
// make a server hold more than the budget, however each one stays within its own limits.
// A nil *Budget admits everything. Its methods are safe for concurrent use.
type Budget struct {
	limit   int64
	used    atomic.Int64
	refused atomic.Uint64
}

// NewBudget returns a budget of limit bytes.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// Acquire takes n bytes of the budget, or reports false (and takes nothing) when that
// would exceed it.
func (b *Budget) Acquire(n int64) bool {
	if b == nil || n <= 0 {
		return true
	}
	if b.used.Add(n) > b.limit {
		b.used.Add(-n)
		b.refused.Add(1)
		return false
	}
	return true
}

// Release gives back n bytes taken with Acquire.
func (b *Budget) Release(n int64) {
	if b != nil && n > 0 {
		b.used.Add(-n)
	}
}

// Used is the number of bytes held now.
func (b *Budget) Used() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

// Limit is the size of the budget.
func (b *Budget) Limit() int64 {
	if b == nil {
		return math.MaxInt64
	}
	return b.limit
}

// Refused counts the acquisitions the budget refused.
func (b *Budget) Refused() uint64 {
	if b == nil {
		return 0
	}
	return b.refused.Load()
}

// DefaultMemoryBudget is the default of Config.MemoryBudget: a quarter of the process's
// memory limit (GOMEMLIMIT, debug.SetMemoryLimit) when one is set, else 128 MiB; never
// less than 32 MiB.
func DefaultMemoryBudget() int64 {
	const fixed, floor = 128 << 20, 32 << 20
	lim := debug.SetMemoryLimit(-1)
	if lim <= 0 || lim == math.MaxInt64 {
		return fixed
	}
	return max(lim/4, floor)
}

// BudgetOf returns the budget a listener with config c uses: c.Budget when set, else a
// new one of c.MemoryBudget bytes.
func BudgetOf(c Config) *Budget {
	if c.Budget != nil {
		return c.Budget
	}
	return NewBudget(c.MemoryBudget)
}

type budgetKey struct{}

// WithBudget returns ctx carrying b: transports put their listener's budget in each
// handler's context so that the layer above can charge what it holds for the request
// (e.g. a decompressed body) to the same budget.
func WithBudget(ctx context.Context, b *Budget) context.Context {
	return context.WithValue(ctx, budgetKey{}, b)
}

// BudgetFrom returns the budget carried by ctx, or nil (which admits everything).
func BudgetFrom(ctx context.Context) *Budget {
	b, _ := ctx.Value(budgetKey{}).(*Budget)
	return b
}
