// Package async sends requests whose answers come later, to a response hook (acomm's
// model): the caller's Tracker sends a request in ack mode with a hook in its meta (a
// URL, or a method of the caller's own service), returns at once, and runs the request's
// success or error handler when the answer arrives or its timeout passes. A receiver
// takes the hook from the incoming request (HookFrom) and answers when it is done with
// a Responder, which retries until a live instance of the caller takes the answer.
//
// It sits above jesus and events and is imported by neither. PROTOCOL.md, section 12,
// describes the meta entries and the answer.
package async
