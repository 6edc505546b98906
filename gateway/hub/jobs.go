package hub

import (
	"container/list"
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/jesus"
)

// job is one call waiting for its answer. Its fields are guarded by Hub.mu but for
// done, which the answering side sends on once.
type job struct {
	id       string
	service  string
	method   string // "service.method", or "" for a queue without methods (AstroHub)
	mode     channel.Mode
	meta     channel.Meta
	deadline time.Time // zero: the hub's CallWait bounds it
	body     []byte    // the request, JSON

	state   jobState
	elem    *list.Element // in its queue's list while queued
	lease   *time.Timer
	leaseN  uint64 // which lease is current, so that a stale timer does nothing
	attempt int    // how many times it was given to a worker
	done    chan answer
}

type jobState uint8

const (
	jobQueued jobState = iota + 1
	jobLeased
	jobDone
)

// answer is what a worker posted: a JSON body, or an error.
type answer struct {
	body []byte
	err  *jesus.Error
}

// queue holds the jobs and the waiting long-polls of one service.
type queue struct {
	name     string
	jobs     list.List // *job, oldest first
	waiters  list.List // *waiter, oldest first
	lastSeen time.Time // the last poll or answer of a worker
	front    *front    // the jesus-native face of the service, when registered
	starting bool      // a front is being started or stopped outside the lock
	open     int       // open jobs of the service: queued or held by a worker
}

// waiter is one long-poll waiting for a job.
type waiter struct {
	ch   chan *job // capacity 1: given at most one job
	elem *list.Element
}

// submit queues j and waits for its answer, the caller giving up (ctx), or the hub
// closing. A job the caller gave up on is taken out of its queue; one a worker holds
// runs on, and its answer is dropped.
func (h *Hub) submit(ctx context.Context, j *job) (answer, error) {
	j.id = uuid.NewString()
	j.done = make(chan answer, 1)
	if err := h.enqueue(j); err != nil {
		return answer{}, err
	}
	wait := h.cfg.CallWait
	if !j.deadline.IsZero() {
		if d := time.Until(j.deadline); d < wait {
			wait = d
		}
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case a := <-j.done:
		return a, nil
	case <-ctx.Done():
		h.forget(j)
		return answer{}, jesus.AsError(ctx.Err())
	case <-t.C:
		h.forget(j)
		return answer{}, jesus.Errorf(jesus.CodeDeadlineExceeded, "hub: no answer from a worker of %s within %v", j.service, wait.Round(time.Millisecond))
	case <-h.closing:
		h.forget(j)
		return answer{}, jesus.Errorf(jesus.CodeUnavailable, "hub: shutting down")
	}
}

func (h *Hub) enqueue(j *job) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return jesus.Errorf(jesus.CodeUnavailable, "hub: shutting down")
	}
	q, err := h.queueLocked(j.service, false)
	if err != nil {
		return err
	}
	switch {
	case q.jobs.Len() >= h.cfg.MaxQueue:
		h.stats.refused++
		return jesus.Errorf(jesus.CodeResourceExhausted, "hub: queue of %s is full (%d jobs waiting for a worker)", j.service, h.cfg.MaxQueue)
	case len(h.jobs) >= h.cfg.MaxJobs:
		h.stats.refused++
		return jesus.Errorf(jesus.CodeResourceExhausted, "hub: %d jobs open, the hub's limit", h.cfg.MaxJobs)
	case h.bytes+int64(len(j.body)) > h.cfg.MaxJobBytes:
		h.stats.refused++
		return jesus.Errorf(jesus.CodeResourceExhausted, "hub: open jobs hold %d bytes; %d more exceed the hub's limit of %d", h.bytes, len(j.body), h.cfg.MaxJobBytes)
	}
	h.jobs[j.id] = j
	q.open++
	h.bytes += int64(len(j.body))
	h.stats.accepted++
	h.offerLocked(q, j, false)
	return nil
}

// offerLocked gives j to the oldest waiting poll of q, or queues it (at the front when
// it comes back from a lapsed lease, so it keeps its place).
func (h *Hub) offerLocked(q *queue, j *job, again bool) {
	if e := q.waiters.Front(); e != nil {
		w := q.waiters.Remove(e).(*waiter)
		w.elem = nil
		h.waiting--
		h.leaseLocked(j)
		w.ch <- j
		return
	}
	j.state = jobQueued
	if again {
		j.elem = q.jobs.PushFront(j)
	} else {
		j.elem = q.jobs.PushBack(j)
	}
}

func (h *Hub) leaseLocked(j *job) {
	j.state = jobLeased
	j.attempt++
	j.leaseN++
	n := j.leaseN
	j.lease = time.AfterFunc(h.cfg.Lease, func() { h.lapse(j, n) })
}

// lapse runs when a worker held j for the whole lease without answering: the job goes
// back to the front of its queue for another worker.
func (h *Hub) lapse(j *job, n uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if j.state != jobLeased || j.leaseN != n || h.jobs[j.id] != j {
		return
	}
	h.stats.lapsed++
	q, err := h.queueLocked(j.service, true)
	if err != nil { // cannot happen: a queue with open jobs is never dropped
		return
	}
	h.offerLocked(q, j, true)
}

// forget drops j after its caller stopped waiting.
func (h *Hub) forget(j *job) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropLocked(j)
}

func (h *Hub) dropLocked(j *job) {
	if h.jobs[j.id] != j {
		return
	}
	delete(h.jobs, j.id)
	h.bytes -= int64(len(j.body))
	if j.lease != nil {
		j.lease.Stop()
	}
	if q := h.queues[j.service]; q != nil {
		q.open--
		if j.state == jobQueued && j.elem != nil {
			q.jobs.Remove(j.elem)
		}
	}
	j.elem = nil
	j.state = jobDone
}

// poll waits up to wait for the next job of service.
func (h *Hub) poll(ctx context.Context, service string, wait time.Duration) (*job, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, jesus.Errorf(jesus.CodeUnavailable, "hub: shutting down")
	}
	q, err := h.queueLocked(service, true)
	if err != nil {
		h.mu.Unlock()
		return nil, err
	}
	h.seenLocked(q)
	if e := q.jobs.Front(); e != nil {
		j := q.jobs.Remove(e).(*job)
		j.elem = nil
		h.leaseLocked(j)
		h.mu.Unlock()
		return j, nil
	}
	if h.waiting >= h.cfg.MaxWaiters {
		h.mu.Unlock()
		return nil, jesus.Errorf(jesus.CodeResourceExhausted, "hub: %d long-polls waiting, the hub's limit; poll again later", h.cfg.MaxWaiters)
	}
	w := &waiter{ch: make(chan *job, 1)}
	w.elem = q.waiters.PushBack(w)
	h.waiting++
	h.mu.Unlock()

	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case j := <-w.ch:
		return j, nil
	case <-ctx.Done():
	case <-t.C:
	case <-h.closing:
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if w.elem != nil {
		q.waiters.Remove(w.elem)
		w.elem = nil
		h.waiting--
		h.seenLocked(q)
		return nil, nil
	}
	// A job was handed over as the poll ended: it goes back, first in line.
	j := <-w.ch
	if j.state == jobLeased && h.jobs[j.id] == j {
		j.lease.Stop()
		j.attempt--
		h.offerLocked(q, j, true)
	}
	return nil, nil
}

// answer delivers a worker's answer to the job id.
func (h *Hub) answer(id string, a answer) error {
	h.mu.Lock()
	j := h.jobs[id]
	if j == nil {
		h.mu.Unlock()
		return jesus.Errorf(jesus.CodeNotFound, "hub: no open job %q (answered already, given up by its caller, or never given)", id)
	}
	if j.state != jobLeased {
		h.mu.Unlock()
		return jesus.Errorf(jesus.CodeFailedPrecondition, "hub: job %q is queued, not held by a worker", id)
	}
	if q := h.queues[j.service]; q != nil {
		h.seenLocked(q)
	}
	h.dropLocked(j)
	h.stats.answered++
	h.mu.Unlock()
	j.done <- a
	return nil
}

// seenLocked notes that a worker of q is alive, and wakes the registrar when q's
// service may need registering.
func (h *Hub) seenLocked(q *queue) {
	q.lastSeen = time.Now()
	if q.front == nil && !q.starting {
		h.kickLocked()
	}
}

func (h *Hub) kickLocked() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// queueLocked returns the queue of service. A queue comes into being when a worker
// asks for its jobs (create) or when the registry knows the service.
func (h *Hub) queueLocked(service string, create bool) (*queue, error) {
	if q := h.queues[service]; q != nil {
		return q, nil
	}
	if !create && !h.known(service) {
		return nil, jesus.Errorf(jesus.CodeNotFound, "hub: unknown service %q: no descriptor in the registry and no worker has asked for its jobs", service)
	}
	if len(h.queues) >= h.cfg.MaxServices {
		return nil, jesus.Errorf(jesus.CodeResourceExhausted, "hub: %d services have queues, the hub's limit", h.cfg.MaxServices)
	}
	q := &queue{name: service}
	h.queues[service] = q
	return q, nil
}

// renew extends the lease of a job a worker holds by a full lease from now.
func (h *Hub) renew(id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	j := h.jobs[id]
	if j == nil {
		return jesus.Errorf(jesus.CodeNotFound, "hub: no open job %q (answered already, given up by its caller, or never given)", id)
	}
	if j.state != jobLeased {
		return jesus.Errorf(jesus.CodeFailedPrecondition, "hub: job %q is back in its queue: its lease ended before it was renewed", id)
	}
	j.lease.Stop()
	j.leaseN++
	n := j.leaseN
	j.lease = time.AfterFunc(h.cfg.Lease, func() { h.lapse(j, n) })
	return nil
}
