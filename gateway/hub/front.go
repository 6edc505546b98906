package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/jesus-go/jesus/channel"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
)

// front is the jesus-native face of one service at the hub: a jesus.Server listening on
// the channels of the service's descriptor, whose handlers queue jobs, registered in the
// registry as an instance of the service under the hub's lease.
type front struct {
	version string
	srv     *jesus.Server
	reg     *registry.Registration
	dir     string // unix sockets, when the descriptor has unix channels
}

// registrar keeps the fronts in step with the workers: a service with live workers
// and a descriptor is registered, one whose workers are gone is deregistered, and
// queues that hold nothing are dropped.
func (h *Hub) registrar() {
	defer close(h.loopDone)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-h.closing:
			h.reconcile(true)
			return
		case <-t.C:
		case <-h.kick:
		}
		h.reconcile(false)
	}
}

type frontChange struct {
	q    *queue
	desc *schema.Descriptor // start this one (nil: stop)
	old  *front
}

func (h *Hub) reconcile(stopAll bool) {
	now := time.Now()
	var todo []frontChange
	h.mu.Lock()
	for name, q := range h.queues {
		if q.starting {
			continue
		}
		active := !stopAll && (q.waiters.Len() > 0 || now.Sub(q.lastSeen) < h.cfg.Idle)
		var desc *schema.Descriptor
		if active && h.cfg.Registry != nil && registry.ValidService(name) {
			desc = h.disc.service(name)
		}
		switch {
		case desc != nil && (q.front == nil || q.front.version != desc.Version):
			todo = append(todo, frontChange{q: q, desc: desc, old: q.front})
			q.starting, q.front = true, nil
		case desc == nil && q.front != nil:
			todo = append(todo, frontChange{q: q, old: q.front})
			q.starting, q.front = true, nil
		case q.front == nil && !active && q.open == 0 && q.waiters.Len() == 0:
			delete(h.queues, name)
		}
	}
	h.mu.Unlock()
	for _, c := range todo {
		if c.old != nil {
			h.stopFront(c.old)
		}
		var f *front
		if c.desc != nil {
			var err error
			if f, err = h.startFront(c.desc); err != nil {
				h.cfg.Logger.Warn("hub: cannot front service", "service", c.desc.ID(), "err", err)
			}
		}
		h.mu.Lock()
		c.q.starting, c.q.front = false, f
		closed := h.closed
		h.mu.Unlock()
		if closed && f != nil { // Close began while it started
			h.mu.Lock()
			c.q.front = nil
			h.mu.Unlock()
			h.stopFront(f)
		}
	}
}

// startFront listens on the channels of d and registers them as an instance of d's
// service.
func (h *Hub) startFront(d *schema.Descriptor) (*front, error) {
	f := &front{version: d.Version}
	srv := jesus.NewServer(d.Service, jesus.WithValidation(h.disc.validation()), jesus.WithLogger(h.cfg.Logger))
	for name, m := range d.Methods {
		h.handleMethod(srv, d.Service+"."+name, m.Mode)
	}
	addr := func(service, name string, sp channel.Spec) string {
		if h.cfg.FrontAddr != nil {
			if a := h.cfg.FrontAddr(service, name, sp); a != "" {
				return a
			}
		}
		if sp.Transport != "unix" {
			return "127.0.0.1:0"
		}
		if f.dir == "" {
			f.dir, _ = os.MkdirTemp("", "jesus-hub-")
		}
		return filepath.Join(f.dir, name+".sock")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.ListenDescriptor(ctx, d, func(name string, sp channel.Spec) string { return addr(d.Service, name, sp) })
	if err == nil {
		inst := registry.Instance{ID: h.id + "-" + uuid.NewString()[:8], Service: d.Service, Version: d.Version,
			Endpoints: srv.Endpoints(), StartedAt: time.Now()}
		f.reg, err = h.cfg.Registry.Register(ctx, inst)
	}
	f.srv = srv
	if err != nil {
		h.stopFront(f)
		return nil, fmt.Errorf("hub: front %s: %w", d.ID(), err)
	}
	h.cfg.Logger.Info("hub: fronting service", "service", d.ID(), "endpoints", srv.Endpoints())
	return f, nil
}

// stopFront deregisters first, so that callers stop picking the hub, then drains.
func (h *Hub) stopFront(f *front) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if f.reg != nil {
		_ = f.reg.Close(ctx)
	}
	if f.srv != nil {
		if err := f.srv.Shutdown(ctx); err != nil {
			_ = f.srv.Close()
		}
	}
	if f.dir != "" {
		_ = os.RemoveAll(f.dir)
	}
}

// handleMethod registers the handler of one method at a front: it turns the call into
// a job and the worker's answer into the reply.
func (h *Hub) handleMethod(srv *jesus.Server, method string, mode channel.Mode) {
	svc, name := method[:len(srv.Name())], method[len(srv.Name())+1:]
	switch mode {
	case channel.ModeResponse:
		jesus.Handle(srv, name, func(ctx context.Context, req any) (any, error) {
			a, err := h.frontCall(ctx, svc, method, mode, req)
			if err != nil {
				return nil, err
			}
			return decodeAnswer(a.body, method)
		})
	case channel.ModeStream:
		jesus.HandleStream(srv, name, func(ctx context.Context, req any, send func(any) error) error {
			return jesus.Errorf(jesus.CodeUnimplemented, "hub: %s is a stream method; a hub carries one answer per call", method)
		})
	default:
		jesus.HandleOneWay(srv, name, func(ctx context.Context, req any) error {
			if _, hasDeadline := ctx.Deadline(); !hasDeadline {
				var cancel context.CancelFunc // accepted one-way work: bounded by CallWait
				ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), h.cfg.CallWait)
				defer cancel()
			}
			_, err := h.frontCall(ctx, svc, method, mode, req)
			return err
		})
	}
}

func (h *Hub) frontCall(ctx context.Context, svc, method string, mode channel.Mode, req any) (answer, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return answer{}, jesus.Errorf(jesus.CodeInvalidArgument, "hub: %s: request cannot be written as JSON: %v", method, err)
	}
	j := &job{service: svc, method: method, mode: mode, body: body}
	if msg, ok := jesus.MsgFromContext(ctx); ok {
		j.meta = msg.Meta
		j.deadline = msg.Deadline
	}
	a, err := h.submit(ctx, j)
	if err == nil && a.err != nil {
		err = a.err
	}
	return a, err
}

// decodeAnswer reads a worker's JSON answer into a value any codec can write: integers
// stay integers (int64), other numbers are float64.
func decodeAnswer(body []byte, method string) (any, error) {
	if len(body) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jesus.Errorf(jesus.CodeInternal, "hub: the answer to %s is not JSON: %v", method, err)
	}
	return numbers(v), nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}
