package jesus

import (
	"crypto/ecdh"
	"errors"
	"fmt"
	"sync"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/codec/seal"
)

// SealKeys returns the public key of the service behind a route whose channel is sealed
// ("+seal"), e.g. from the key its instance published in the registry.
type SealKeys func(r Route) (*ecdh.PublicKey, error)

// SealTo returns SealKeys that seal every request to pub: one receiver, e.g. a static
// target.
func SealTo(pub *ecdh.PublicKey) SealKeys {
	return func(Route) (*ecdh.PublicKey, error) { return pub, nil }
}

// WithSealKeys lets a client call sealed channels: each request payload is sealed to the
// key keys returns for its route. Without it a call to a "+seal" route fails with
// failed_precondition.
func WithSealKeys(keys SealKeys) Option {
	return commonOption(func(c *common) { c.sealing().keys = keys })
}

// WithOpener lets a server serve sealed channels ("+seal"): every request payload on them
// must open with o's private key (and is refused as unauthenticated otherwise, replays
// included), before anything else reads it.
func WithOpener(o *seal.Opener) Option {
	return commonOption(func(c *common) { c.sealing().opener = o })
}

// sealing is the sealing setup of a client or server, shared by a client's views.
type sealing struct {
	keys   SealKeys
	opener *seal.Opener

	mu      sync.Mutex
	sealers map[[32]byte]*seal.Sealer // by receiver key: each keeps its ephemeral key a while
}

func (c *common) sealing() *sealing {
	if c.seal == nil {
		c.seal = &sealing{}
	}
	return c.seal
}

// sealAAD is the associated data of a sealed request: the method, a zero byte, and the
// caller (Meta.From), all of which travel in the clear.
func sealAAD(method, from string) []byte {
	b := make([]byte, 0, len(method)+1+len(from))
	b = append(append(append(b, method...), 0), from...)
	return b
}

// sealRequest seals data for route, appending to dst; the Reply opens the answers.
func (c *common) sealRequest(dst []byte, route Route, method, from string, data []byte) ([]byte, *seal.Reply, error) {
	s := c.seal
	if s == nil || s.keys == nil {
		return dst, nil, &Error{Code: CodeFailedPrecondition, Method: method, Message: fmt.Sprintf("channel %s is sealed and this client has no keys to seal to (WithSealKeys)", route.Spec.Name())}
	}
	pub, err := s.keys(route)
	if err != nil || pub == nil {
		return dst, nil, &Error{Code: CodeFailedPrecondition, Method: method, Message: fmt.Sprintf("no sealing key for %s (instance %q): %v", route.Spec, route.Instance, err), err: err}
	}
	k := [32]byte(pub.Bytes())
	s.mu.Lock()
	sl := s.sealers[k]
	if sl == nil {
		if sl, err = seal.NewSealer(pub); err != nil {
			s.mu.Unlock()
			return dst, nil, &Error{Code: CodeFailedPrecondition, Method: method, Message: err.Error(), err: err}
		}
		if s.sealers == nil || len(s.sealers) >= 1024 {
			s.sealers = map[[32]byte]*seal.Sealer{}
		}
		s.sealers[k] = sl
	}
	s.mu.Unlock()
	out, reply, err := sl.SealRequest(dst, data, sealAAD(method, from))
	if err != nil {
		return dst, nil, &Error{Code: CodeInternal, Method: method, Message: err.Error(), err: err}
	}
	return out, reply, nil
}

// openReply replaces data, a sealed data reply numbered seq, by what it opens to.
func openReply(r *seal.Reply, env *channel.Envelope, seq uint32, method string) ([]byte, error) {
	data, err := r.OpenWith(nil, env.Data, seqAAD(seq))
	if err != nil {
		return nil, &Error{Code: CodeUnauthenticated, Method: method, Message: fmt.Sprintf("sealed %s from %q refused: %v", env.Type, env.Meta.From, err), err: err}
	}
	return data, nil
}

// openRequest replaces env.Data, sealed, by what it opens to; the Reply seals the answers.
func (c *common) openRequest(env *channel.Envelope, ch string) (*seal.Reply, error) {
	var o *seal.Opener
	if c.seal != nil {
		o = c.seal.opener
	}
	if o == nil {
		return nil, &Error{Code: CodeInternal, Method: env.Method, Message: fmt.Sprintf("channel %s is sealed and the server has no opener (WithOpener)", ch)}
	}
	data, reply, err := o.OpenRequest(nil, env.Data, sealAAD(env.Method, env.Meta.From))
	switch {
	case errors.Is(err, seal.ErrMalformed):
		return nil, &Error{Code: CodeInvalidArgument, Method: env.Method, Message: fmt.Sprintf("channel %s is sealed: the request payload is not sealed (%v)", ch, err), err: err}
	case err != nil:
		return nil, &Error{Code: CodeUnauthenticated, Method: env.Method, Message: fmt.Sprintf("channel %s: sealed request from %q refused: %v", ch, env.Meta.From, err), err: err}
	}
	env.Data = data
	return reply, nil
}

// SealKey is the public key this server opens sealed requests with (WithOpener), in the
// form an instance publishes in the registry; "" without one.
func (s *Server) SealKey() string {
	if s.o.seal == nil || s.o.seal.opener == nil {
		return ""
	}
	return seal.PublicKeyString(s.o.seal.opener.PublicKey())
}
