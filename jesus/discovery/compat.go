package discovery

import (
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/jesus-go/jesus/jesus"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/compat"
	"github.com/jesus-go/jesus/schema/registry"
)

// CompatPolicy says what a failed startup compatibility check does.
type CompatPolicy struct {
	// Warn logs the report and starts anyway; the default refuses to start.
	Warn bool
	// AllowUnproven treats "cannot prove" as compatible; the default treats it as a failure.
	AllowUnproven bool
}

// CheckPeers proves that self agrees with every live peer in the registry: each of its
// calls against the receiver's latest descriptor, each event it emits against every
// service that listens to it, and each event it listens to against every emitter. A peer
// that is not in the registry yet is not checked (Compat re-checks when it appears).
func CheckPeers(self *schema.Descriptor, cache *registry.Cache) (compat.Report, error) {
	return checkPeers(self, cache, map[string]*schema.Descriptor{})
}

// checkPeers is CheckPeers with parsed peers remembered by service@version in parsed
// (a published version never changes), so that a re-check parses only new versions.
func checkPeers(self *schema.Descriptor, cache *registry.Cache, parsed map[string]*schema.Descriptor) (compat.Report, error) {
	if _, err := self.Bundle(); err != nil {
		return compat.Report{}, jesus.Errorf(jesus.CodeInvalidArgument, "bundle %s: %w", self.ID(), err)
	}
	svcs := cache.Services()
	sort.Strings(svcs)
	var peers []*schema.Descriptor
	for _, svc := range svcs {
		if svc == self.Service {
			continue
		}
		if ver, doc, ok := cache.Latest(svc); ok {
			key := svc + "@" + ver
			d, seen := parsed[key]
			if !seen {
				d, _ = schema.Parse(key+".json", doc) // a peer that does not parse is not checked
				parsed[key] = d
			}
			if d != nil {
				peers = append(peers, d)
			}
		}
	}
	return compat.CheckPeers(self, peers), nil
}

func failed(rep compat.Report, p CompatPolicy) bool {
	switch rep.Verdict() {
	case compat.Incompatible:
		return true
	case compat.Unproven:
		return !p.AllowUnproven
	}
	return false
}

// Compat keeps checking a service against its live peers: once at start (refusing to start
// under the default policy), then whenever a peer publishes a new version. A break is
// logged, counted, and makes Ready false until a later check passes.
type Compat struct {
	self   *schema.Descriptor
	cache  *registry.Cache
	policy CompatPolicy
	log    *slog.Logger

	ready  atomic.Bool
	breaks atomic.Int64
	mu     sync.Mutex
	last   compat.Report

	parsed map[string]*schema.Descriptor // peers by service@version; used by one check at a time

	stop func()
	done chan struct{}
}

// StartCompat runs the startup check of self against the registry and, unless it fails
// under policy, keeps re-checking until Close. A refusal is an *Error with code
// incompatible whose message is the report.
func StartCompat(self *schema.Descriptor, cache *registry.Cache, policy CompatPolicy, logger *slog.Logger) (*Compat, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Compat{self: self, cache: cache, policy: policy, log: logger, done: make(chan struct{})}
	c.parsed = map[string]*schema.Descriptor{}
	rep, err := checkPeers(self, cache, c.parsed)
	if err != nil {
		return nil, err
	}
	c.last = rep
	if failed(rep, policy) {
		if !policy.Warn {
			return nil, &jesus.Error{Code: jesus.CodeIncompatible, Service: self.ID(), Message: fmt.Sprintf("%s refuses to start: %s\n%s", self.ID(), rep.Verdict(), rep.String())}
		}
		c.breaks.Add(1)
		logger.Warn("jesus: starting although incompatible with peers", "service", self.ID(), "verdict", rep.Verdict().String(), "report", rep.String())
	} else {
		c.ready.Store(true)
	}
	changes, stop := cache.Subscribe()
	c.stop = stop
	go func() {
		defer close(c.done)
		for ch := range changes {
			if ch.Kind != registry.DescriptorAdded && ch.Kind != registry.Resync {
				continue
			}
			if ch.Service == self.Service {
				continue
			}
			c.recheck()
		}
	}()
	return c, nil
}

func (c *Compat) recheck() {
	rep, err := checkPeers(c.self, c.cache, c.parsed) // recheck runs on one goroutine
	if err != nil {
		c.log.Error("jesus: compatibility re-check failed", "service", c.self.ID(), "err", err)
		return
	}
	c.mu.Lock()
	c.last = rep
	c.mu.Unlock()
	if failed(rep, c.policy) {
		if c.ready.Swap(false) {
			c.breaks.Add(1)
		}
		c.log.Error("jesus: a peer broke compatibility", "service", c.self.ID(), "verdict", rep.Verdict().String(), "report", rep.String())
		return
	}
	c.ready.Store(true)
}

// Ready reports whether the last check passed.
func (c *Compat) Ready() bool { return c.ready.Load() }

// Breaks counts the times a check found a break (including a warned start).
func (c *Compat) Breaks() int64 { return c.breaks.Load() }

// Report returns the last report.
func (c *Compat) Report() compat.Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// Close stops re-checking. Repeat-safe.
func (c *Compat) Close() {
	c.mu.Lock()
	stop := c.stop
	c.stop = nil
	c.mu.Unlock()
	if stop != nil {
		stop()
		<-c.done
	}
}

// Check is a readiness check (jesus/admin's AddCheck): nil while the last check passed,
// else an error naming the service and the verdict, on one line.
func (c *Compat) Check() error {
	if c.Ready() {
		return nil
	}
	rep := c.Report()
	return fmt.Errorf("%s is %s with a live peer (%d differences; jesus check --live lists them)", c.self.ID(), rep.Verdict(), len(rep.Items))
}
