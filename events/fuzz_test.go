package events

import (
	"strings"
	"testing"
)

// FuzzReadMeta feeds hostile event meta (as it arrives in Meta.Extra) to the listener's
// reader and its loss accounting: no panic, and what is accepted is within the limits.
func FuzzReadMeta(f *testing.F) {
	f.Add("log", "e1", "1", "src", true)
	f.Add("Log", "", "0", "", false)
	f.Add("order.created", strings.Repeat("x", 200), "281474976710656", "s", true)
	f.Add("log", "e2", "-1", "s", true)
	f.Fuzz(func(t *testing.T, event, id, seq, src string, canonical bool) {
		extra := map[string]string{ExtraEvent: event, ExtraID: id, ExtraSeq: seq, ExtraSource: src}
		if canonical {
			extra = map[string]string{"Event": event, "Event-Id": id, "Seq": seq, "Src": src}
		}
		in, err := readMeta(extra, "log")
		if err != nil {
			return
		}
		if in.id == "" || len(in.id) > maxIDLen || in.seq == 0 || in.seq > maxSeq || in.src == "" || len(in.src) > maxSrcLen {
			t.Fatalf("accepted out-of-limit meta %+v", in)
		}
		s := newStreams(4)
		s.arrive(streamKey{in.src, "log"}, in.seq)
		if s.lost() != in.seq-1 {
			t.Fatalf("lost %d after first seq %d", s.lost(), in.seq)
		}
	})
}

// FuzzParseListens feeds hostile descriptor documents (as the registry holds them) to the
// router's reading of listens: no panic, names sorted and unique.
func FuzzParseListens(f *testing.F) {
	f.Add([]byte(`{"service":"audit","listens":{"order.created":{"payload":{}},"log":{"payload":{}}}}`))
	f.Add([]byte(`{"listens":[]}`))
	f.Add([]byte(`{"listens":{"a":1,"a":2}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		evs := parseListens(doc)
		for i := 1; i < len(evs); i++ {
			if evs[i-1] >= evs[i] {
				t.Fatalf("not sorted and unique: %q", evs)
			}
		}
	})
}
