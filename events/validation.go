package events

import (
	"sync/atomic"

	"github.com/jesus-go/jesus/jesus"
)

// methodInfix separates the listening service from the event in an event's wire method:
// "billing.event:order.created".
const methodInfix = ".event:"

// WireMethod is the method an event travels as to a listening service:
// WireMethod("billing", "order.created") is "billing.event:order.created".
func WireMethod(listener, event string) string { return listener + methodInfix + event }

// counting validates with the schema and counts refusals. It returns the schema's own
// *schema.ValidationError so that jesus reports its service and pointers.
type counting struct {
	v jesus.Validator // a jesus.SchemaValidator
	n *atomic.Uint64
}

func (c counting) Validate(x any) error {
	err := c.v.Validate(x)
	if err != nil {
		c.n.Add(1)
	}
	return err
}

// ValidateEncoded checks json and msgpack payloads from their bytes (jesus.BytesValidator).
func (c counting) ValidateEncoded(serializer string, raw []byte) (bool, error) {
	handled, err := c.v.(jesus.BytesValidator).ValidateEncoded(serializer, raw)
	if err != nil {
		c.n.Add(1)
	}
	return handled, err
}

// AcceptsEncoded vouches for a payload by its value (jesus.ValueValidator); that it
// cannot is no refusal, and is not counted.
func (c counting) AcceptsEncoded(serializer string, x any) bool {
	a, ok := c.v.(jesus.ValueValidator)
	return ok && a.AcceptsEncoded(serializer, x)
}

// JournalKey is the idempotency key of an event request for a server journal
// (journal.WithKey): the event's name and id, so that an emitter's retry after a lost
// ack, even to a listener that restarted, is acked again without running twice.
func JournalKey(m jesus.Meta) string {
	id, _ := lookup(m.Extra, ExtraID)
	if id == "" {
		return ""
	}
	ev, _ := lookup(m.Extra, ExtraEvent)
	return ev + "\x00" + id
}
