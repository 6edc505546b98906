package sidecar

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthLoop checks the app every interval until ctx ends, so that an app that stops
// answering leaves the registry within one interval and comes back when it answers.
func (a *app) healthLoop(ctx context.Context) {
	defer close(a.done)
	t := time.NewTicker(a.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.setHealth(ctx, a.probe(ctx))
		}
	}
}

// probe runs one health check: GET the health URL, 2xx within half an interval.
func (a *app) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, a.every/2)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.health, nil)
	if err != nil {
		return err
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %v", a.health, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("GET %s: status %d", a.health, resp.StatusCode)
	}
	return nil
}

// setHealth registers the instance when the app is healthy (err nil) and is not
// registered, and deregisters it when it is not.
func (a *app) setHealth(ctx context.Context, err error) {
	a.mu.Lock()
	g := a.reg
	if err != nil {
		a.lastErr = err.Error()
	}
	a.mu.Unlock()
	log := a.s.cfg.Logger
	switch {
	case err != nil && g != nil:
		a.mu.Lock()
		a.reg = nil
		a.mu.Unlock()
		log.Warn("sidecar: app failed its health check; deregistered", "app", a.d.ID(), "err", err)
		if cerr := g.Close(context.WithoutCancel(ctx)); cerr != nil {
			log.Warn("sidecar: deregistering", "app", a.d.ID(), "err", cerr)
		}
	case err == nil && g == nil:
		ng, rerr := a.s.cfg.Registry.Register(ctx, a.inst)
		if rerr != nil {
			a.mu.Lock()
			a.lastErr = "register: " + rerr.Error()
			a.mu.Unlock()
			log.Warn("sidecar: registering", "app", a.d.ID(), "err", rerr)
			return
		}
		a.mu.Lock()
		a.reg, a.lastErr = ng, ""
		a.mu.Unlock()
		log.Info("sidecar: app registered", "app", a.d.ID(), "instance", a.inst.ID)
	}
}
