package sidecar

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"time"

	"github.com/jesus-go/jesus/internal/jsonone"
	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
)

// appRegisterTimeout bounds a registration made through the API (etcd and the first
// health check).
const appRegisterTimeout = 30 * time.Second

func (s *Sidecar) handlePutApp(w http.ResponseWriter, r *http.Request) {
	svc := r.PathValue("service")
	body, release, err := s.body(r, "register app "+svc)
	if err != nil {
		s.stats.rejected.Add(1)
		writeError(w, err)
		return
	}
	defer release()
	var cfg AppConfig
	if err := json.Unmarshal(body, &cfg); err != nil {
		s.stats.rejected.Add(1)
		writeError(w, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: register app %s: body is not a JSON object {descriptor, url, healthcheck, intervalMs, push}: %s", svc, jsonone.Describe(err, len(body))))
		return
	}
	var head struct {
		Service string `json:"service"`
	}
	if err := json.Unmarshal(cfg.Descriptor, &head); err != nil || head.Service != svc {
		s.stats.rejected.Add(1)
		writeError(w, jesus.Errorf(jesus.CodeInvalidArgument, "sidecar: register app %s: the descriptor's service is %q, not the %q of the path", svc, head.Service, svc))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), appRegisterTimeout)
	defer cancel()
	info, err := s.RegisterApp(ctx, cfg)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

func (s *Sidecar) handleDeleteApp(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), appRegisterTimeout)
	defer cancel()
	if err := s.DeregisterApp(ctx, r.PathValue("service")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sidecar) handleListApps(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"apps": s.Apps()})
}

// ServiceSummary is one service of GET /v1/registry.
type ServiceSummary struct {
	Service   string   `json:"service"`
	Latest    string   `json:"latest"`
	Versions  []string `json:"versions"`
	Instances int      `json:"instances"`
}

func (s *Sidecar) handleRegistry(w http.ResponseWriter, r *http.Request) {
	c := s.cfg.Cache
	out := []ServiceSummary{}
	for _, svc := range c.Services() {
		ver, _, _ := c.Latest(svc)
		out = append(out, ServiceSummary{Service: svc, Latest: ver, Versions: c.Versions(svc), Instances: len(c.Instances(svc))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	writeJSON(w, http.StatusOK, map[string]any{"services": out})
}

// ServiceDetail is the reply of GET /v1/registry/{service}: versions, live instances
// with their endpoints, and what the latest descriptor declares.
type ServiceDetail struct {
	Service   string                   `json:"service"`
	Latest    string                   `json:"latest"`
	Versions  []string                 `json:"versions"`
	Instances []registry.Instance      `json:"instances"`
	Channels  map[string]string        `json:"channels"`
	Methods   map[string]MethodSummary `json:"methods"`
	Events    map[string]MethodSummary `json:"events"`
	Listens   []string                 `json:"listens"`
	Calls     []string                 `json:"calls"`
}

// MethodSummary is a method's or event's mode and channel.
type MethodSummary struct {
	Mode    string `json:"mode"`
	Channel string `json:"channel"`
}

func (s *Sidecar) handleRegistryService(w http.ResponseWriter, r *http.Request) {
	svc := r.PathValue("service")
	c := s.cfg.Cache
	ver, doc, ok := c.Latest(svc)
	if !ok {
		writeError(w, jesus.Errorf(jesus.CodeNotFound, "sidecar: no service %q in the registry", svc))
		return
	}
	out := ServiceDetail{Service: svc, Latest: ver, Versions: c.Versions(svc), Instances: c.Instances(svc),
		Channels: map[string]string{}, Methods: map[string]MethodSummary{}, Events: map[string]MethodSummary{}, Listens: []string{}, Calls: []string{}}
	if out.Instances == nil {
		out.Instances = []registry.Instance{}
	}
	set := schema.NewSet()
	if err := set.Add(svc+"@"+ver+".json", doc); err != nil {
		writeError(w, jesus.Errorf(jesus.CodeInternal, "sidecar: the published descriptor %s@%s does not load: %v", svc, ver, err))
		return
	}
	d := set.Get(svc, ver)
	for name, ch := range d.Channels {
		out.Channels[name] = ch.Spec()
	}
	for name, m := range d.Methods {
		out.Methods[name] = MethodSummary{Mode: m.Mode.String(), Channel: m.Channel}
	}
	for name, e := range d.Events {
		out.Events[name] = MethodSummary{Mode: e.Mode.String(), Channel: e.Channel}
	}
	for name := range d.Listens {
		out.Listens = append(out.Listens, name)
	}
	for name := range d.Calls {
		out.Calls = append(out.Calls, name)
	}
	sort.Strings(out.Listens)
	sort.Strings(out.Calls)
	writeJSON(w, http.StatusOK, out)
}

// Health is the reply of GET /v1/health.
type Health struct {
	Status string    `json:"status"` // "ok", or "stopping"
	Apps   []AppInfo `json:"apps"`
}

func (s *Sidecar) handleHealth(w http.ResponseWriter, r *http.Request) {
	if s.isClosed() {
		writeJSON(w, http.StatusServiceUnavailable, Health{Status: "stopping", Apps: []AppInfo{}})
		return
	}
	writeJSON(w, http.StatusOK, Health{Status: "ok", Apps: s.Apps()})
}

func (s *Sidecar) handleStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}
