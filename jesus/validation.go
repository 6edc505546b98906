package jesus

// Validator checks one JSON-ready value (what codec.Pipeline.UnmarshalValue returns). A
// refusal that is an *Error with Failures (or a *schema.ValidationError) is reported with
// its failing pointers.
type Validator interface {
	Validate(v any) error
}

// Validation plugs schema checks into a Client or a Server. On a server it names the
// schemas of its own methods: requests are checked on receipt (invalid_argument to the
// caller), responses and items before they are sent (internal: the handler broke its own
// contract). On a client it names what the client expects of the methods it calls:
// requests are checked before they are sent, responses and stream items on receipt
// (bad_response: the receiver broke the contract). A nil Validator means the part has
// no schema.
type Validation interface {
	// RequestValidator returns the validator of method's request data.
	RequestValidator(method string) Validator
	// ResponseValidator returns the validator of method's response data (stream: one item).
	ResponseValidator(method string) Validator
}

type part int

const (
	partRequest part = iota
	partResponse
)

// BytesValidator is implemented by a Validator that can check an encoded message without
// decoding it into a value first (an optional ability, found by type assertion).
type BytesValidator interface {
	// ValidateEncoded checks raw, an uncompressed message written by the named serializer
	// ("json", "msgpack"), with the verdict Validate would give for its decoded value.
	// jesus decodes a message this accepted without reading its headers again, so it must
	// refuse every message the serializer would not decode (codec's default limits).
	// handled is false, and err nil, for a serializer it does not read. A message that does
	// not decode gets an error wrapping codec.ErrCorrupt, codec.ErrTooLarge or
	// codec.ErrTooDeep; one that decodes but fails the schema gets what Validate returns.
	ValidateEncoded(serializer string, raw []byte) (handled bool, err error)
}

// ValueValidator is implemented by a Validator that can vouch for a value before it is
// written (an optional ability, found by type assertion). jesus asks it first of what it
// sends, and of what it receives where the serializer can tell that a message is exactly
// what it writes for the value it read (codec.ExactUnmarshaler); the bytes are checked
// (BytesValidator, else Validate) only when it cannot vouch.
type ValueValidator interface {
	// AcceptsEncoded reports whether the message the named serializer writes for x
	// certainly passes, with the verdict checking those bytes would give. False means
	// only that it is not known.
	AcceptsEncoded(serializer string, x any) bool
}

// validatorOf returns v's validator of method's part, nil when there is none.
func validatorOf(v Validation, p part, method string) Validator {
	if v == nil {
		return nil
	}
	if p == partRequest {
		return v.RequestValidator(method)
	}
	return v.ResponseValidator(method)
}
