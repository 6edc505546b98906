package cli

import (
	"testing"
	"time"
)

func TestHistogramBuckets(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 129, 1000, 65535, 1 << 20, 123456789, 1 << 40, 1<<62 + 12345} {
		i := bucketOf(v)
		if lo, hi := uint64(lowerBound(i)), uint64(lowerBound(i+1)); v < lo || v >= hi {
			t.Fatalf("%d in bucket %d = [%d, %d)", v, i, lo, hi)
		}
		if i >= histBuckets {
			t.Fatalf("%d: bucket %d out of range", v, i)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	h := newHistogram()
	for i := 1; i <= 10000; i++ {
		h.add(time.Duration(i) * time.Microsecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 5 * time.Millisecond, 0.9: 9 * time.Millisecond, 0.99: 9900 * time.Microsecond, 0.999: 9990 * time.Microsecond} {
		got := h.quantile(q)
		if d := float64(got-want) / float64(want); d < -0.02 || d > 0.02 {
			t.Errorf("quantile(%v) = %v, want %v within 2%%", q, got, want)
		}
	}
	if h.min != time.Microsecond || h.max != 10*time.Millisecond || h.mean() != 5000500*time.Nanosecond {
		t.Errorf("min %v max %v mean %v", h.min, h.max, h.mean())
	}
	var n uint64
	for _, r := range h.rows(10) {
		n += r.Count
	}
	if n != 10000 {
		t.Errorf("rows hold %d samples", n)
	}
	o := newHistogram()
	o.add(time.Hour)
	h.merge(o)
	if h.max != time.Hour || h.n != 10001 || h.quantile(1) != time.Hour {
		t.Errorf("merge: max %v n %d q1 %v", h.max, h.n, h.quantile(1))
	}
}
