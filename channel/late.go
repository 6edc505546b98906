package channel

import (
	"fmt"
	"time"
)

// ReplyDeadline is the time after which a reply to a request that arrived at received
// with a relative timeout is late; the zero time when the request has no timeout.
func ReplyDeadline(received time.Time, timeout time.Duration) time.Time {
	if timeout <= 0 {
		return time.Time{}
	}
	return received.Add(timeout)
}

// IsLate reports whether a reply sent now to a request with the given ReplyDeadline is
// past it.
func IsLate(deadline time.Time) bool {
	return !deadline.IsZero() && time.Now().After(deadline)
}

// LateReply fills out with the error that every transport sends instead of a terminal
// reply (ack, response, end, or an error of another code) that comes after the caller's
// deadline: code deadline_exceeded and one message, so that a late reply reads the same
// over tcp, unix, http (504) and udp. The caller has given up; what the handler produced
// would be a reply to no one, or worse, a success the caller already reported as a
// failure. corrID is kept so the error can be traced.
func LateReply(out *Envelope, method string, timeout time.Duration, corrID string) {
	*out = Envelope{
		Type:       TypeError,
		ErrCode:    CodeDeadlineExceeded,
		ErrMessage: fmt.Sprintf("channel: %s: no reply within the caller's deadline of %v", method, timeout),
	}
	out.Meta.CorrID = corrID
}
