package jesus

import (
	"testing"
	"time"
)

func TestLatencyBuckets(t *testing.T) {
	prev := -1
	for _, ns := range []int64{0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 1000, 1023, 1024, 1 << 40, 1<<62 + 12345, 1<<63 - 1} {
		b := bucketOf(ns)
		if b < prev || b >= latencyBuckets {
			t.Fatalf("bucketOf(%d) = %d after %d", ns, b, prev)
		}
		prev = b
		top := bucketTop(b)
		if ns >= top && top != 1<<63-1 {
			t.Fatalf("bucket %d of %d ends at %d", b, ns, top)
		}
		if ns >= 8 && float64(top) > float64(ns)*1.25+1 {
			t.Fatalf("bucket %d of %d ends at %d: more than 25%% above", b, ns, top)
		}
	}
	var ms methodStats
	for i := 0; i < 990; i++ {
		ms.record(time.Microsecond, nil)
	}
	for i := 0; i < 10; i++ {
		ms.record(time.Second, nil)
	}
	st := ms.snapshot("x")
	if st.P99Nanos < int64(time.Microsecond) || st.P99Nanos > int64(1250*time.Nanosecond) {
		t.Fatalf("p99 of 990 x 1µs and 10 x 1s = %d ns", st.P99Nanos)
	}
	ms.record(time.Second, nil)
	if st := ms.snapshot("x"); st.P99Nanos < int64(time.Second) {
		t.Fatalf("p99 with 11 of 1001 at 1s = %d ns", st.P99Nanos)
	}
}
