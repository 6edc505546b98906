package events

import "github.com/jesus-go/jesus/jesus"

// WithInterceptors adds interceptors to the client the bus makes for itself (New with a
// nil client; a client passed to New brings its own): every delivery of an emitted
// event to a listening instance runs through them (metrics, tracing), as one call of
// the listener's "<service>.event:<event>" method. Listeners see events through the
// interceptors of their jesus.Server.
func WithInterceptors(ics ...jesus.Interceptor) Option {
	return optionFunc(func(o *options) { o.intercept = append(o.intercept, ics...) })
}
