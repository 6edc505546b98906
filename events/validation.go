package events

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
)

// methodInfix separates the listening service from the event in an event's wire method:
// "billing.event:order.created".
const methodInfix = ".event:"

// WireMethod is the method an event travels as to a listening service:
// WireMethod("billing", "order.created") is "billing.event:order.created".
func WireMethod(listener, event string) string { return listener + methodInfix + event }

// Validation is the server-side validation of a service that listens to events: requests
// to "<self>.event:<E>" are checked against the payload schema self declares in
// listens[E]; every other method is left to the inner validation (which may be nil). A
// server created with it refuses an invalid payload with invalid_argument — naming the
// service and each failing pointer — before any ack is sent. It is safe for concurrent use.
type Validation struct {
	set     *schema.Set
	self    *schema.Descriptor
	inner   jesus.Validation
	prefix  string
	cache   sync.Map // event -> jesus.Validator (nil when the event is not listened to)
	invalid atomic.Uint64
}

// NewValidation returns the validation to create a listening service's server with:
//
//	v := events.NewValidation(set, self, jesus.ServiceSchemas(set, self.Service, self.Version))
//	srv := jesus.NewServer(self.Service, jesus.WithValidation(v))
//	bus, err := events.New(self, set, srv, cache, events.WithServerValidation(v))
func NewValidation(set *schema.Set, self *schema.Descriptor, inner jesus.Validation) *Validation {
	return &Validation{set: set, self: self, inner: inner, prefix: self.Service + methodInfix}
}

// RequestValidator implements jesus.Validation.
func (v *Validation) RequestValidator(method string) jesus.Validator {
	event, ok := strings.CutPrefix(method, v.prefix)
	if !ok {
		if v.inner == nil {
			return nil
		}
		return v.inner.RequestValidator(method)
	}
	if c, ok := v.cache.Load(event); ok {
		return c.(jesus.Validator)
	}
	var out jesus.Validator
	if _, listens := v.self.Listens[event]; listens {
		if sv, err := v.set.Validator(v.self.Service, v.self.Version, schema.PartListenPayload, event); err == nil && sv != nil {
			out = counting{jesus.SchemaValidator(sv), &v.invalid}
		}
	}
	if out == nil {
		return nil // not listened to: no handler either, the server refuses it (not cached: names come from the wire)
	}
	v.cache.Store(event, out)
	return out
}

// ResponseValidator implements jesus.Validation.
func (v *Validation) ResponseValidator(method string) jesus.Validator {
	if v.inner == nil || strings.HasPrefix(method, v.prefix) {
		return nil
	}
	return v.inner.ResponseValidator(method)
}

// Invalid is how many event payloads failed their listen schema.
func (v *Validation) Invalid() uint64 { return v.invalid.Load() }

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
