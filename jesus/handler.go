package jesus

// A HandlerOption changes how one handler is served (see Handle, HandleOneWay and
// HandleStream). Layers built on jesus, such as package events, register their handlers
// with them instead of asking the server's owner for special setup.
type HandlerOption func(*handlerOpts)

type handlerOpts struct {
	req       Validator // replaces the server's Validation for requests, when reqSet
	reqSet    bool
	unlisted  bool
	intercept []Interceptor
}

// CheckRequests checks the handler's requests against v instead of the server's
// Validation: before the handler runs and, in ack mode, before the ack is sent. A
// refusal is invalid_argument with every failing pointer, as for the server's own schemas.
func CheckRequests(v Validator) HandlerOption {
	return func(o *handlerOpts) { o.req, o.reqSet = v, true }
}

// Unlisted marks a handler that serves no method of the service's descriptor (e.g. the
// event listeners of package events): CheckDescriptor does not ask the descriptor for it.
func Unlisted() HandlerOption { return func(o *handlerOpts) { o.unlisted = true } }

// WithHandlerInterceptors wraps this handler alone in ics, inside the server's own
// interceptors (the first of ics outermost).
func WithHandlerInterceptors(ics ...Interceptor) HandlerOption {
	return func(o *handlerOpts) { o.intercept = append(o.intercept, ics...) }
}

// newMethod returns the method of a handler registered on s with opts, and the
// interceptors around it: the server's, then the handler's own.
func newMethod(s *Server, name, kind string, opts []HandlerOption) (*method, []Interceptor) {
	var o handlerOpts
	for _, f := range opts {
		f(&o)
	}
	m := &method{name: name, kind: kind, unlisted: o.unlisted, req: o.req, reqSet: o.reqSet}
	ics := s.o.intercept
	if len(o.intercept) > 0 {
		ics = append(append([]Interceptor(nil), s.o.intercept...), o.intercept...)
	}
	return m, ics
}
