// Package hub runs a job hub: services without ports pull the calls meant for them and
// post the answers back. Its HTTP API is AstroHub's (POST /service/{name} queues a job
// and waits for the answer, GET /service/{name}/jobs long-polls the next job, POST
// /jobs/{id} answers it), so any language with an HTTP client can be a worker; a Go
// jesus.Server serves through it with a Worker (Server.ListenVia), and the hub
// registers every service with live workers and a published descriptor in the registry
// under its own endpoints, so ordinary jesus clients reach it without knowing.
//
// Jobs are leased to one worker at a time; a lease that runs out (the worker died)
// gives the job to another. Queues are bounded per service and in total; requests are
// checked against the service's schema before they are queued. PROTOCOL.md, section 11,
// describes the API.
package hub
