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
