package hub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/channel/httpchan"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
)

// Headers of the hub API, the http channel's spellings (PROTOCOL.md, section 4).
const (
	headerTimeout    = httpchan.HeaderTimeout
	headerCorrID     = httpchan.HeaderCorrID
	headerUserID     = httpchan.HeaderUserID
	headerFrom       = httpchan.HeaderFrom
	headerTrace      = httpchan.HeaderTrace
	headerErrorCode  = httpchan.HeaderErrorCode
	headerAttempt    = "Jesus-Attempt"
	headerMetaPrefix = httpchan.HeaderMetaPrefix
)

// maxErrorMessage bounds the message of a worker's error answer.
const maxErrorMessage = 4 << 10

func (h *Hub) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/service/{name}", h.onlyMethod(http.MethodPost, h.serveCall))
	mux.HandleFunc("/service/{name}/jobs", h.onlyMethod(http.MethodGet, h.servePoll))
	mux.HandleFunc("/jobs/{id}", h.onlyMethod(http.MethodPost, h.serveAnswer))
	mux.HandleFunc("/jobs/{id}/lease", h.onlyMethod(http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
		if err := h.renew(r.PathValue("id")); err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	mux.HandleFunc("/stats", h.onlyMethod(http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, h.Stats())
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, jesus.Errorf(jesus.CodeNotFound, "hub: no such endpoint %s %s (want POST /service/{name}, GET /service/{name}/jobs, POST /jobs/{id})", r.Method, truncate(r.URL.Path)))
	})
	return mux
}

func (h *Hub) onlyMethod(m string, f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != m {
			w.Header().Set("Allow", m)
			writeErrorStatus(w, http.StatusMethodNotAllowed, jesus.Errorf(jesus.CodeUnimplemented, "hub: %s %s: use %s", r.Method, truncate(r.URL.Path), m))
			return
		}
		f(w, r)
	}
}

// serveCall is POST /service/{name}: queue a job and wait for its answer.
func (h *Hub) serveCall(w http.ResponseWriter, r *http.Request) {
	svc, method, err := splitName(r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	body, err := readBody(w, r, h.cfg.MaxBody, "request")
	if err != nil {
		writeError(w, err)
		return
	}
	j := &job{service: svc, body: body, mode: channel.ModeResponse}
	if method != "" {
		j.method = svc + "." + method
	}
	if err := h.checkRequest(j); err != nil {
		writeError(w, err)
		return
	}
	if err := readMeta(r, j); err != nil {
		writeError(w, err)
		return
	}
	a, err := h.submit(r.Context(), j)
	if err == nil {
		err = errOrNil(a.err)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	if j.mode != channel.ModeResponse {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(a.body)
}

func errOrNil(e *jesus.Error) error {
	if e == nil {
		return nil
	}
	return e
}

// checkRequest finds the method in the service's descriptor, when there is one, and
// checks the request against its schema.
func (h *Hub) checkRequest(j *job) error {
	var val any
	if err := json.Unmarshal(j.body, &val); err != nil {
		return jesus.Errorf(jesus.CodeInvalidArgument, "hub: request to %s is not JSON: %v", j.service, err)
	}
	if h.disc == nil {
		return nil
	}
	d := h.disc.service(j.service)
	if d == nil {
		return nil
	}
	if j.method == "" {
		names := make([]string, 0, len(d.Methods))
		for n := range d.Methods {
			names = append(names, n)
		}
		return jesus.Errorf(jesus.CodeInvalidArgument, "hub: %s has methods (%s): POST /service/%s.<method>", d.ID(), strings.Join(names, ", "), j.service)
	}
	name := j.method[len(j.service)+1:]
	m, ok := d.Methods[name]
	if !ok {
		return &jesus.Error{Code: jesus.CodeNotFound, Message: fmt.Sprintf("hub: %s declares no method %q", d.ID(), name), Service: j.service, Method: j.method}
	}
	if m.Mode == channel.ModeStream {
		return &jesus.Error{Code: jesus.CodeUnimplemented, Message: fmt.Sprintf("hub: %s is a stream method; a hub carries one answer per call", j.method), Service: j.service, Method: j.method}
	}
	j.mode = m.Mode
	if v := h.disc.validation().RequestValidator(j.method); v != nil {
		if err := v.Validate(val); err != nil {
			return schemaError(jesus.CodeInvalidArgument, j.service, j.method, "hub: request", err)
		}
	}
	return nil
}

// servePoll is GET /service/{name}/jobs: the next job, waiting up to ?wait= for one.
func (h *Hub) servePoll(w http.ResponseWriter, r *http.Request) {
	svc, method, err := splitName(r.PathValue("name"))
	if err == nil && method != "" {
		err = jesus.Errorf(jesus.CodeInvalidArgument, "hub: poll the jobs of a service, not of a method: GET /service/%s/jobs", svc)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	wait := h.cfg.PollWait
	if s := r.URL.Query().Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			writeError(w, jesus.Errorf(jesus.CodeInvalidArgument, "hub: wait=%q is not a duration such as 20s", truncate(s)))
			return
		}
		wait = min(d, h.cfg.MaxPollWait)
	}
	j, err := h.poll(r.Context(), svc, wait)
	if err != nil {
		writeError(w, err)
		return
	}
	if j == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.mu.Lock() // a lapsing lease changes the job
	wj := wireJobOf(j)
	h.mu.Unlock()
	wj.LeaseMs = h.cfg.Lease.Milliseconds()
	w.Header().Set(headerAttempt, strconv.Itoa(wj.Attempt))
	writeJSON(w, http.StatusOK, wj)
}

// serveAnswer is POST /jobs/{id}: a worker's answer, or with Jesus-Error-Code its error.
func (h *Hub) serveAnswer(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if len(id) > 64 {
		writeError(w, jesus.Errorf(jesus.CodeInvalidArgument, "hub: job id of %d bytes; ids are at most 64", len(id)))
		return
	}
	body, err := readBody(w, r, h.cfg.MaxBody, "answer")
	if err != nil {
		writeError(w, err)
		return
	}
	var a answer
	if code := r.Header.Get(headerErrorCode); code != "" {
		a.err = parseErrorAnswer(code, body)
	} else {
		if len(body) > 0 && !json.Valid(body) {
			writeError(w, jesus.Errorf(jesus.CodeInvalidArgument, "hub: answer to job %s is not JSON; the job stays yours until its lease ends", truncate(id)))
			return
		}
		a.body = body
	}
	if err := h.checkAnswer(id, &a); err != nil {
		if aerr := h.answer(id, a); aerr != nil {
			writeError(w, aerr)
			return
		}
		writeError(w, err) // the caller got an internal error; the worker learns why
		return
	}
	if err := h.answer(id, a); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// checkAnswer checks a successful answer against the response schema of the job's
// method. One that fails it turns into an internal error for the caller (the service
// broke its own contract), and the returned error, for the worker.
func (h *Hub) checkAnswer(id string, a *answer) error {
	if a.err != nil || h.disc == nil {
		return nil
	}
	h.mu.Lock()
	j := h.jobs[id]
	var method string
	var mode channel.Mode
	if j != nil {
		method, mode = j.method, j.mode
	}
	h.mu.Unlock()
	if method == "" || mode != channel.ModeResponse {
		return nil
	}
	v := h.disc.validation().ResponseValidator(method)
	if v == nil {
		return nil
	}
	var val any
	if len(a.body) > 0 {
		if err := json.Unmarshal(a.body, &val); err != nil {
			return jesus.Errorf(jesus.CodeInvalidArgument, "hub: answer is not JSON: %v", err)
		}
	}
	if err := v.Validate(val); err != nil {
		svc, _, _ := strings.Cut(method, ".")
		a.body, a.err = nil, schemaError(jesus.CodeInternal, svc, method, "hub: the worker's answer", err)
		return schemaError(jesus.CodeInvalidArgument, svc, method, "hub: answer", err)
	}
	return nil
}

// parseErrorAnswer reads an error answer: a JSON body {"code","message","details"} as the
// http channel sends errors, or any text as the message.
func parseErrorAnswer(code string, body []byte) *jesus.Error {
	c := jesus.Code(code)
	if !c.Valid() {
		c = jesus.CodeUnknown
	}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && eb.Message != "" {
		return &jesus.Error{Code: c, Message: truncateN(eb.Message, maxErrorMessage), Failures: eb.Details.Failures, Remote: true}
	}
	return &jesus.Error{Code: c, Message: truncateN(string(body), maxErrorMessage), Remote: true}
}

// splitName splits "service" or "service.method" and checks the service name.
func splitName(name string) (svc, method string, err error) {
	svc, method, _ = strings.Cut(name, ".")
	if !validQueue(svc) {
		return "", "", jesus.Errorf(jesus.CodeInvalidArgument, "hub: service name %q: want 1 to 63 of [A-Za-z0-9_-]", truncate(svc))
	}
	if len(method) > 128 {
		return "", "", jesus.Errorf(jesus.CodeInvalidArgument, "hub: method name of %d bytes; at most 128", len(method))
	}
	return svc, method, nil
}

func validQueue(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// readBody reads at most limit bytes of the request body.
func readBody(w http.ResponseWriter, r *http.Request, limit int, what string) ([]byte, error) {
	if r.ContentLength > int64(limit) {
		return nil, tooLarge{jesus.Errorf(jesus.CodeResourceExhausted, "hub: %s body of %d bytes exceeds the limit of %d bytes", what, r.ContentLength, limit)}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(limit)))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge{jesus.Errorf(jesus.CodeResourceExhausted, "hub: %s body exceeds the limit of %d bytes", what, limit)}
		}
		return nil, jesus.Errorf(jesus.CodeInvalidArgument, "hub: reading the %s body: %v", what, err)
	}
	return b, nil
}

// readMeta fills the job's meta and deadline from the http channel's headers.
func readMeta(r *http.Request, j *job) error {
	j.meta = channel.Meta{CorrID: r.Header.Get(headerCorrID), UserID: r.Header.Get(headerUserID),
		From: r.Header.Get(headerFrom), Trace: r.Header.Get(headerTrace)}
	for _, v := range []string{j.meta.CorrID, j.meta.UserID, j.meta.From, j.meta.Trace} {
		if len(v) > 256 {
			return jesus.Errorf(jesus.CodeInvalidArgument, "hub: a meta header of %d bytes; at most 256", len(v))
		}
	}
	for k, vs := range r.Header {
		if len(k) <= len(headerMetaPrefix) || !strings.EqualFold(k[:len(headerMetaPrefix)], headerMetaPrefix) || len(vs) == 0 {
			continue
		}
		if len(j.meta.Extra) >= channel.MaxExtra {
			return jesus.Errorf(jesus.CodeInvalidArgument, "hub: more than %d %s* headers", channel.MaxExtra, headerMetaPrefix)
		}
		if len(vs[0]) > 1024 {
			return jesus.Errorf(jesus.CodeInvalidArgument, "hub: header %s of %d bytes; at most 1024", truncate(k), len(vs[0]))
		}
		if j.meta.Extra == nil {
			j.meta.Extra = make(map[string]string, 2)
		}
		j.meta.Extra[strings.ToLower(k[len(headerMetaPrefix):])] = vs[0]
	}
	if s := r.Header.Get(headerTimeout); s != "" {
		ms, err := strconv.ParseUint(s, 10, 32)
		if err != nil || ms == 0 {
			return jesus.Errorf(jesus.CodeInvalidArgument, "hub: %s: %q is not a positive number of milliseconds", headerTimeout, truncate(s))
		}
		j.deadline = time.Now().Add(time.Duration(ms) * time.Millisecond)
	}
	return nil
}

func truncate(s string) string { return truncateN(s, 64) }

func truncateN(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"internal","message":"hub: encoding the reply failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, err error) {
	var tl tooLarge
	if errors.As(err, &tl) {
		w.Header().Set("Connection", "close") // the rest of the body is not read
		writeErrorStatus(w, http.StatusRequestEntityTooLarge, tl.e)
		return
	}
	e := jesus.AsError(err)
	writeErrorStatus(w, httpchan.StatusFromCode(string(e.Code)), e)
}

// tooLarge is a body over the limit: 413, as the http channel answers it.
type tooLarge struct{ e *jesus.Error }

func (t tooLarge) Error() string { return t.e.Error() }

func writeErrorStatus(w http.ResponseWriter, status int, err error) {
	e := jesus.AsError(err)
	w.Header().Set(headerErrorCode, string(e.Code))
	writeJSON(w, status, errorBodyOf(e))
}

// schemaError turns a validation failure into an error with code c that lists every
// failing pointer.
func schemaError(c jesus.Code, svc, method, what string, err error) *jesus.Error {
	e := &jesus.Error{Code: c, Service: svc, Method: method}
	var ve *schema.ValidationError
	var je *jesus.Error
	switch {
	case errors.As(err, &ve):
		e.Message = fmt.Sprintf("%s to %s fails its schema: %v", what, method, ve)
		for _, f := range ve.Failures {
			e.Failures = append(e.Failures, jesus.Failure{Pointer: f.Pointer, Keyword: f.Keyword, Message: f.Message})
		}
		return e
	case errors.As(err, &je) && len(je.Failures) > 0:
		e.Failures = je.Failures
	}
	e.Message = fmt.Sprintf("%s to %s fails its schema: %v", what, method, err)
	return e
}
