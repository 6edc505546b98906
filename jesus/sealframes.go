package jesus

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/codec/seal"
)

// On a sealed channel the error replies, acks and stream ends of a request whose payload
// opened are sealed for its caller too (PROTOCOL.md §13.3): each carries the sealed form
// in the meta extra entry "Seal", and an error keeps only its code in the clear.

const (
	sealExtra      = "Seal"   // the meta extra entry of a sealed error, ack or end
	sealedErrText  = "sealed" // errMessage of a sealed error: the message is inside
	maxSealedText  = 4 << 10  // message bytes kept in a sealed error
	maxSealedExtra = 8 << 10  // details bytes kept in a sealed error; longer: dropped
)

var sealB64 = base64.RawURLEncoding

// seqAAD is the extra associated data of a sealed data reply: its number among the
// request's data replies (u32be; a response is 0, a stream's items 0, 1, 2, ...). A reply
// dropped, repeated or moved on the way does not open.
func seqAAD(seq uint32) []byte {
	return binary.BigEndian.AppendUint32(make([]byte, 0, 4), seq)
}

// frameAAD is the extra associated data of a sealed error, ack or end: the envelope type
// (one byte, its wire value), the number of data replies sent before it (u32be), and, for
// an error, the code that travels in the clear. A stream cut short on the way does not
// open its end.
func frameAAD(t channel.Type, sent uint32, code string) []byte {
	b := binary.BigEndian.AppendUint32(append(make([]byte, 0, 5+len(code)), byte(t)), sent)
	return append(b, code...)
}

// sealFrame seals plaintext as the reply of type t (code for an error), after sent data
// replies, and sets the envelope's Seal entry.
func sealFrame(r *seal.Reply, env *channel.Envelope, sent uint32, plaintext []byte) error {
	sealed, err := r.SealWith(nil, plaintext, frameAAD(env.Type, sent, env.ErrCode))
	if err != nil {
		return err
	}
	if env.Meta.Extra == nil {
		env.Meta.Extra = make(map[string]string, 1)
	}
	env.Meta.Extra[sealExtra] = sealB64.EncodeToString(sealed)
	return nil
}

// errorPlaintext is what a sealed error carries: the message's length (u32be), the
// message, then the details (JSON), each cut to its bound.
func errorPlaintext(msg string, details []byte) []byte {
	if len(msg) > maxSealedText {
		cut := maxSealedText
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	if len(details) > maxSealedExtra {
		details = nil
	}
	b := make([]byte, 0, 4+len(msg)+len(details))
	b = binary.BigEndian.AppendUint32(b, uint32(len(msg)))
	return append(append(b, msg...), details...)
}

// sealError seals the message and details of env, an error reply to a sealed request,
// for the caller: in the clear stay the code and errMessage "sealed". On failure the
// reply goes out as an internal error that says nothing of the original.
func (c *call) sealError(env *channel.Envelope) {
	plain := errorPlaintext(env.ErrMessage, env.ErrDetails)
	env.ErrMessage, env.ErrDetails = sealedErrText, nil
	if err := sealFrame(c.sealed, env, c.sealSeq, plain); err != nil {
		c.srv.o.logger.Warn("jesus: error reply not sealed", "method", c.env.Method, "err", err)
		env.ErrCode, env.ErrMessage, env.Meta.Extra = string(CodeInternal), "error reply could not be sealed", nil
	}
}

// control returns the ack or end reply of the call, naming this service in from (the
// caller checks an ack against the method it called): sealed for the caller on a sealed
// channel (an empty plaintext: the seal proves where it comes from).
func (c *call) control(t channel.Type) *channel.Envelope {
	env := &channel.Envelope{Type: t}
	env.Meta.CorrID = c.env.Meta.CorrID
	env.Meta.From = c.srv.name
	if c.sealed != nil {
		if err := sealFrame(c.sealed, env, c.sealSeq, nil); err != nil {
			c.srv.o.logger.Warn("jesus: reply not sealed", "method", c.env.Method, "type", t, "err", err)
		}
	}
	return env
}

// openedBeforeSeal are the codes a server can answer a sealed request with before it
// opened it (or a transport without a server behind it): such an error cannot be sealed.
// Any other code in an unsealed error to a sealed request is refused.
var openedBeforeSeal = map[Code]bool{
	CodeInvalidArgument: true, CodeUnauthenticated: true, CodeUnimplemented: true,
	CodeResourceExhausted: true, CodeUnavailable: true, CodeInternal: true,
	CodeDeadlineExceeded: true, CodeCanceled: true,
}

// remoteError is the error an error reply carries; for a sealed request, opened.
func (out *outgoing) remoteError(env *channel.Envelope, method string) *Error {
	if out.reply == nil {
		return fromEnvelope(env, method)
	}
	v, sealed := env.Meta.Extra[sealExtra]
	if !sealed {
		if openedBeforeSeal[Code(env.ErrCode)] {
			return fromEnvelope(env, method) // a refusal before the request was opened
		}
		return &Error{Code: CodeUnauthenticated, Method: method, Message: fmt.Sprintf("unsealed error reply (%s) to a sealed request refused: a sealed channel seals every error a handler can cause", env.ErrCode)}
	}
	plain, err := openFrame(out.reply, env, out.seq, v, method)
	if err != nil {
		return err
	}
	if len(plain) < 4 || uint64(binary.BigEndian.Uint32(plain)) > uint64(len(plain)-4) {
		return &Error{Code: CodeUnauthenticated, Method: method, Message: "sealed error reply: malformed contents"}
	}
	n := binary.BigEndian.Uint32(plain)
	inner := *env
	inner.ErrMessage, inner.ErrDetails = string(plain[4:4+n]), plain[4+n:]
	return fromEnvelope(&inner, method)
}

// checkControl checks that an ack over a route found in the registry names no service
// other than the method's (PROTOCOL.md section 3), and the seal of an ack or end reply to a
// sealed request.
func (out *outgoing) checkControl(env *channel.Envelope, method string) error {
	if env.Type == channel.TypeAck && out.route.Instance != "" {
		if err := checkAckFrom(env.Meta.From, method); err != nil {
			return err
		}
	}
	if out.reply == nil {
		return nil
	}
	v, ok := env.Meta.Extra[sealExtra]
	if !ok {
		return &Error{Code: CodeUnauthenticated, Method: method, Message: fmt.Sprintf("unsealed %s reply to a sealed request refused", env.Type)}
	}
	if _, err := openFrame(out.reply, env, out.seq, v, method); err != nil {
		return err
	}
	return nil
}

// openFrame opens the Seal entry v of env, which follows seq data replies.
func openFrame(r *seal.Reply, env *channel.Envelope, seq uint32, v, method string) ([]byte, *Error) {
	sealed, err := sealB64.DecodeString(v)
	if err == nil {
		var plain []byte
		if plain, err = r.OpenWith(nil, sealed, frameAAD(env.Type, seq, env.ErrCode)); err == nil {
			return plain, nil
		}
	}
	return nil, &Error{Code: CodeUnauthenticated, Method: method, Message: fmt.Sprintf("sealed %s reply refused: %v", env.Type, err), err: err}
}

// checkAckFrom refuses an ack whose from names a service other than the one of method
// ("service.name"). The registry said an instance of that service is at the address; a
// server of another service answering there (one that took the address of an instance
// that is gone, its registration not yet expired) did not accept the request, and taking
// its ack would lose the request in silence. The caller sees unavailable, as for an
// address where nothing listens, and may try another instance. An ack without from (a
// server that names no sender) is taken.
func checkAckFrom(from, method string) error {
	svc, _, ok := strings.Cut(method, ".")
	if from == "" || !ok || from == svc {
		return nil
	}
	return &Error{Code: CodeUnavailable, Method: method,
		Message: fmt.Sprintf("ack from service %q refused: %s is a method of %s; another server answers at this address", from, method, svc)}
}
