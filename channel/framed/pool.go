package framed

import "sync"

// Buffers are pooled in size tiers (grpc-go's mem.BufferPool does the same) so that a
// small reply does not pin a large buffer. Buffers above the largest tier are not pooled.
var tierSizes = [...]int{512, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20}

var tiers [len(tierSizes)]sync.Pool

func tierOf(n int) int {
	for i, s := range tierSizes {
		if n <= s {
			return i
		}
	}
	return -1
}

// getBuf returns a buffer of length 0 and capacity at least n.
func getBuf(n int) *[]byte {
	t := tierOf(n)
	if t < 0 {
		b := make([]byte, 0, n)
		return &b
	}
	if p, ok := tiers[t].Get().(*[]byte); ok {
		*p = (*p)[:0]
		return p
	}
	b := make([]byte, 0, tierSizes[t])
	return &b
}

// putBuf returns b to the tier its capacity fills; odd sizes (grown by append) go to
// the tier below so a pooled buffer always holds at least its tier's size.
func putBuf(b *[]byte) {
	if b == nil {
		return
	}
	c := cap(*b)
	for i := len(tierSizes) - 1; i >= 0; i-- {
		if c >= tierSizes[i] {
			if c > 2*tierSizes[i] && i == len(tierSizes)-1 {
				return // far above the largest tier: let it go
			}
			*b = (*b)[:0]
			tiers[i].Put(b)
			return
		}
	}
}
