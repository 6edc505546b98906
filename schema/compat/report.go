package compat

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Item kinds.
const (
	KindCall  = "call"
	KindEvent = "event"
	KindNote  = "note"
)

// Item is one checked relation: a part of a call or an event between two
// services, or a note.
type Item struct {
	Kind string `json:"kind"`
	// From is the caller or emitter, To the receiver or listener, both as
	// service@version.
	From string `json:"from"`
	To   string `json:"to,omitempty"`
	// Name is the call ("billing.charge") or the event ("order.created").
	Name string `json:"name"`
	// Part is what was compared: request, response, stream item, payload,
	// or call, method, channel, mode for structural mismatches.
	Part        string       `json:"part,omitempty"`
	Verdict     Verdict      `json:"verdict"`
	Differences []Difference `json:"differences,omitempty"`
	// Witness is the JSON text of a value the sending side may produce and
	// the receiving side rejects; nil when there is none.
	Witness json.RawMessage `json:"witness,omitempty"`
	Reason  string          `json:"reason,omitempty"`
}

func fromResult(base Item, part string, r Result) Item {
	it := base
	it.Part, it.Verdict, it.Differences, it.Reason = part, r.Verdict, r.Differences, r.Reason
	if r.Verdict == Incompatible {
		if b, err := json.Marshal(r.Witness); err == nil {
			it.Witness = b
		}
	}
	return it
}

func (it Item) subject() string {
	switch it.Kind {
	case KindCall:
		if it.To == "" {
			return fmt.Sprintf("%s calls %s", it.From, it.Name)
		}
		return fmt.Sprintf("%s calls %s on %s", it.From, it.Name, it.To)
	case KindEvent:
		return fmt.Sprintf("%s emits %s to %s", it.From, it.Name, it.To)
	}
	return "note"
}

// Lines renders the item, one line per difference.
func (it Item) Lines() []string {
	head := it.subject()
	if it.Kind == KindNote {
		return []string{"note: " + it.Reason}
	}
	if it.Part != "" {
		head += ": " + it.Part
	}
	switch it.Verdict {
	case Compatible:
		return []string{head + ": compatible"}
	case Unproven:
		return []string{head + ": cannot prove: " + it.Reason}
	}
	// The witness shows the first difference: it follows that line.
	reasons := []string{it.Reason}
	if len(it.Differences) > 0 {
		reasons = reasons[:0]
		for _, d := range it.Differences {
			reasons = append(reasons, d.Reason)
		}
	}
	var out []string
	for i, r := range reasons {
		out = append(out, head+": "+r)
		if i == 0 && it.Witness != nil {
			out = append(out, "  for example: "+string(it.Witness))
		}
	}
	return out
}

// Report is the outcome of descriptor-level checks.
type Report struct {
	Items []Item `json:"items"`
}

// Verdict is the overall outcome: Incompatible if any item is, else
// Unproven if any item is, else Compatible.
func (r Report) Verdict() Verdict {
	v := Compatible
	for _, it := range r.Items {
		v = worse(v, it.Verdict)
	}
	return v
}

// String renders the report as text, one line per item or difference, and a
// final line with the overall verdict.
func (r Report) String() string {
	var b strings.Builder
	counts := map[Verdict]int{}
	for _, it := range r.Items {
		for _, l := range it.Lines() {
			b.WriteString(l)
			b.WriteByte('\n')
		}
		if it.Kind != KindNote {
			counts[it.Verdict]++
		}
	}
	fmt.Fprintf(&b, "%s (%d compatible, %d incompatible, %d cannot prove)\n",
		r.Verdict(), counts[Compatible], counts[Incompatible], counts[Unproven])
	return b.String()
}

// MarshalJSON renders {"verdict": ..., "items": [...]}.
func (r Report) MarshalJSON() ([]byte, error) {
	items := r.Items
	if items == nil {
		items = []Item{}
	}
	return json.Marshal(struct {
		Verdict Verdict `json:"verdict"`
		Items   []Item  `json:"items"`
	}{r.Verdict(), items})
}
