package cli

import (
	"math"
	"math/bits"
	"time"
)

// histogram counts durations in log-linear buckets: exact below 128 ns, then 64 buckets
// per power of two (under 1.6% error), in fixed memory whatever the number of samples.
type histogram struct {
	counts     []uint64
	n          uint64
	sum        time.Duration
	min, max   time.Duration
	hasSamples bool
}

const (
	histSub     = 64
	histBuckets = 128 + 56*histSub // up to 2^63 ns
)

func newHistogram() *histogram { return &histogram{counts: make([]uint64, histBuckets)} }

func bucketOf(v uint64) int {
	if v < 128 {
		return int(v)
	}
	e := bits.Len64(v) - 7 // v>>e is in [64, 128)
	return 128 + (e-1)*histSub + int(v>>e) - histSub
}

// lowerBound is the smallest value of bucket i.
func lowerBound(i int) time.Duration {
	if i < 128 {
		return time.Duration(i)
	}
	e := (i-128)/histSub + 1
	return time.Duration(uint64(histSub+(i-128)%histSub) << e)
}

func (h *histogram) add(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
	h.sum += d
	if !h.hasSamples || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.hasSamples = true
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	if o.hasSamples {
		if !h.hasSamples || o.min < h.min {
			h.min = o.min
		}
		if o.max > h.max {
			h.max = o.max
		}
		h.hasSamples = true
	}
}

// quantile is the upper end of the bucket holding the q-th sample (0 < q <= 1), capped
// at the largest sample seen.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			up := lowerBound(i + 1)
			if i < 128 {
				up = lowerBound(i)
			}
			if up > h.max {
				up = h.max
			}
			return up
		}
	}
	return h.max
}

func (h *histogram) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// row is one line of the printed histogram: samples up to le.
type row struct {
	LE    time.Duration `json:"le_ns"`
	Count uint64        `json:"count"`
}

// rows groups the buckets into about n rows of equal ratio between min and max.
func (h *histogram) rows(n int) []row {
	if h.n == 0 {
		return nil
	}
	lo, hi := float64(h.min), float64(h.max)
	if lo < 1 {
		lo = 1
	}
	if hi <= lo {
		return []row{{LE: h.max, Count: h.n}}
	}
	var edges []time.Duration
	ratio := math.Pow(hi/lo, 1/float64(n))
	for e := lo * ratio; len(edges) < n-1; e *= ratio {
		edges = append(edges, time.Duration(e))
	}
	edges = append(edges, h.max)
	out := make([]row, len(edges))
	for i := range out {
		out[i].LE = edges[i]
	}
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		v := lowerBound(i)
		k := 0
		for k < len(edges)-1 && v > edges[k] {
			k++
		}
		out[k].Count += c
	}
	return out
}
