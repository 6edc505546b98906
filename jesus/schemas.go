package jesus

import (
	"strings"
	"sync"

	"github.com/jesus-go/jesus/schema"
)

// ServiceSchemas validates a server's own messages — requests it receives, responses and
// stream items it returns — against its descriptor service@version in set.
func ServiceSchemas(set *schema.Set, service, version string) Validation {
	return &schemaValidation{set: set, resolve: func(string) (string, string, bool) { return service, version, true }}
}

// ReceiverSchemas validates what a client sends and what it receives against the
// descriptor of each receiver in set: for "billing.charge", the request and response (or
// stream item) schemas of the latest version of service billing.
func ReceiverSchemas(set *schema.Set) Validation {
	return &schemaValidation{set: set, resolve: func(svc string) (string, string, bool) {
		d := set.Service(svc)
		if d == nil {
			return "", "", false
		}
		return d.Service, d.Version, true
	}}
}

// CallerSchemas validates what a client sends and receives against what its own
// descriptor self@version in set declares under calls: for "billing.charge", the schemas
// of calls["billing.charge"]. A call, or a part of it, that declares no schema falls back
// to fallback (e.g. ReceiverSchemas, or a Discovery: the receiver's published schemas),
// which may be nil. A reply that fails it is refused at the caller with bad_response.
func CallerSchemas(set *schema.Set, self, version string, fallback Validation) Validation {
	return &callerValidation{set: set, self: self, version: version, fallback: fallback}
}

type callerValidation struct {
	set           *schema.Set
	self, version string
	fallback      Validation
	cache         sync.Map // cacheKey -> cached (nil: use the fallback)
}

func (c *callerValidation) RequestValidator(method string) Validator {
	return c.lookup(schema.PartCallRequest, method)
}

func (c *callerValidation) ResponseValidator(method string) Validator {
	return c.lookup(schema.PartCallResponse, method)
}

func (c *callerValidation) lookup(p schema.Part, method string) Validator {
	key := cacheKey{p, method}
	x, ok := c.cache.Load(key)
	if !ok {
		var out Validator
		if v, err := c.set.Validator(c.self, c.version, p, method); err == nil && v != nil {
			out = schemaValidator{v}
		}
		c.cache.Store(key, cached{out})
		x = cached{out}
	}
	if v := x.(cached).v; v != nil {
		return v
	}
	if c.fallback == nil {
		return nil
	}
	if p == schema.PartCallRequest {
		return c.fallback.RequestValidator(method)
	}
	return c.fallback.ResponseValidator(method)
}

type schemaValidation struct {
	set     *schema.Set
	resolve func(service string) (svc, version string, ok bool)
	cache   sync.Map // cacheKey -> cached (a nil Validator when there is no schema)
}

// SchemaValidator adapts a compiled schema to a Validator that checks json and msgpack
// messages from their bytes (BytesValidator), and Go values over msgpack by their values
// (ValueValidator); its refusals are *schema.ValidationError.
func SchemaValidator(v *schema.Validator) Validator { return schemaValidator{v} }

type schemaValidator struct{ v *schema.Validator }

func (s schemaValidator) Validate(x any) error { return s.v.Validate(x) }

// ValidateEncoded checks json and msgpack messages from their bytes (see BytesValidator).
func (s schemaValidator) ValidateEncoded(serializer string, raw []byte) (bool, error) {
	switch serializer {
	case "msgpack":
		return true, s.v.ValidateMsgpack(raw)
	case "json":
		return true, s.v.ValidateJSON(raw)
	}
	return false, nil
}

// AcceptsEncoded vouches for msgpack and json messages by their values (ValueValidator,
// schema.Validator.AcceptsMsgpack and AcceptsJSON).
func (s schemaValidator) AcceptsEncoded(serializer string, x any) bool {
	switch serializer {
	case "msgpack":
		return s.v.AcceptsMsgpack(x)
	case "json":
		return s.v.AcceptsJSON(x)
	}
	return false
}

func (s *schemaValidation) RequestValidator(method string) Validator {
	return s.lookup(schema.PartRequest, method)
}

func (s *schemaValidation) ResponseValidator(method string) Validator {
	return s.lookup(schema.PartResponse, method)
}

type cached struct{ v Validator }

// cacheKey names one part of one method; a struct key costs no allocation per lookup.
type cacheKey struct {
	part   schema.Part
	method string
}

func (s *schemaValidation) lookup(p schema.Part, method string) Validator {
	key := cacheKey{p, method}
	if c, ok := s.cache.Load(key); ok {
		return c.(cached).v
	}
	var out Validator
	svc, name, ok := strings.Cut(method, ".")
	if ok {
		if svc, ver, found := s.resolve(svc); found {
			if v, err := s.set.Validator(svc, ver, p, name); err == nil && v != nil {
				out = schemaValidator{v}
			}
		}
	}
	s.cache.Store(key, cached{out})
	return out
}

// failuresOf converts a schema validation error into failures, if it is one.
func failuresOf(err error) (service string, fs []Failure, ok bool) {
	ve, isVE := err.(*schema.ValidationError)
	if !isVE {
		return "", nil, false
	}
	fs = make([]Failure, len(ve.Failures))
	for i, f := range ve.Failures {
		fs[i] = Failure{Pointer: f.Pointer, Keyword: f.Keyword, Message: f.Message}
	}
	return ve.Service + "@" + ve.Version, fs, true
}
