package jesus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strings"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/schema"
)

// ListenChannel is Listen for a channel with a name from the service's descriptor; the
// name is what Register publishes the endpoint under.
func (s *Server) ListenChannel(ctx context.Context, name, spec string) (channel.Spec, error) {
	sp, err := s.Listen(ctx, spec)
	if err != nil {
		return sp, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.listeners {
		if l.spec == sp {
			l.name = name
		}
	}
	return sp, nil
}

// Endpoints returns the named channels the server listens on: name -> "spec://addr".
func (s *Server) Endpoints() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.listeners))
	for _, l := range s.listeners {
		if l.name != "" {
			out[l.name] = l.spec.String()
		}
	}
	return out
}

// LoopbackAddrs places every channel on 127.0.0.1 with a free port, and unix sockets in dir.
func LoopbackAddrs(dir string) func(name string, sp channel.Spec) string {
	return func(name string, sp channel.Spec) string {
		if sp.Transport == "unix" {
			return filepath.Join(dir, name+".sock")
		}
		return "127.0.0.1:0"
	}
}

// CheckDescriptor reports every difference between the handlers registered on s and the
// methods d declares: a declared method without a handler, a handler for an undeclared
// method, or a handler whose mode differs from the declared one. Handlers registered
// with Unlisted (event listeners, the service API) are not methods: they are ignored.
func (s *Server) CheckDescriptor(d *schema.Descriptor) error {
	methods := *s.methods.Load()
	var problems []string
	for name, m := range d.Methods {
		wire := d.WireMethod(name)
		h := methods[wire]
		switch {
		case h == nil:
			problems = append(problems, fmt.Sprintf("%s (%s) has no handler", wire, m.Mode))
		case !h.modes[m.Mode]:
			problems = append(problems, fmt.Sprintf("%s is declared %s but its handler is %s", wire, m.Mode, h.kind))
		}
	}
	for wire, h := range methods {
		if h.unlisted {
			continue
		}
		name, ok := strings.CutPrefix(wire, d.Service+".")
		if _, declared := d.Methods[name]; !ok || !declared {
			problems = append(problems, fmt.Sprintf("handler %s is not declared", wire))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return &Error{Code: CodeIncompatible, Service: d.ID(), Message: fmt.Sprintf("server %s does not match its descriptor %s: %s", s.name, d.ID(), strings.Join(problems, "; "))}
}

// ListenDescriptor checks the handlers against d, then listens on every channel d declares,
// at the address addr gives for it (see LoopbackAddrs).
func (s *Server) ListenDescriptor(ctx context.Context, d *schema.Descriptor, addr func(name string, sp channel.Spec) string) error {
	if err := s.CheckDescriptor(d); err != nil {
		return err
	}
	s.SetDescriptor(d)
	names := make([]string, 0, len(d.Channels))
	for n := range d.Channels {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sp, err := channel.ParseSpec(d.Channels[n].Spec())
		if err != nil {
			return Errorf(CodeInvalidArgument, "%s channel %s: %v", d.ID(), n, err)
		}
		sp.Addr = addr(n, sp)
		if _, err := s.ListenChannel(ctx, n, sp.String()); err != nil {
			return err
		}
	}
	return nil
}

// notSent reports whether err proves the request never left (a failed dial), so that it
// may be retried on another instance without risking a duplicate.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
