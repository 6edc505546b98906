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

// ReceiverSchemas validates a client's requests (and the responses it receives are checked
// by the receiver) against the descriptor of each receiver in set: for "billing.charge",
// the latest version of service billing.
func ReceiverSchemas(set *schema.Set) Validation {
	return &schemaValidation{set: set, resolve: func(svc string) (string, string, bool) {
		d := set.Service(svc)
		if d == nil {
			return "", "", false
		}
		return d.Service, d.Version, true
	}}
}

type schemaValidation struct {
	set     *schema.Set
	resolve func(service string) (svc, version string, ok bool)
	cache   sync.Map // cacheKey -> cached (a nil Validator when there is no schema)
}

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
