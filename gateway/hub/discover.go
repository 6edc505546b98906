package hub

import (
	"github.com/jesus-go/jesus/jesus"
	jdisc "github.com/jesus-go/jesus/jesus/discovery"
	"github.com/jesus-go/jesus/schema"
	"github.com/jesus-go/jesus/schema/registry"
)

// discovery is the hub's one use of jesus/discovery: the
// descriptors it checks requests against and fronts services with.
type discovery struct {
	d *jdisc.Discovery
}

func newDiscovery(cache *registry.Cache) *discovery {
	return &discovery{d: jdisc.New(cache)}
}

// service returns the latest descriptor of svc, or nil.
func (d *discovery) service(svc string) *schema.Descriptor { return d.d.Schemas().Service(svc) }

// validation checks requests and responses against each receiver's latest descriptor.
func (d *discovery) validation() jesus.Validation { return d.d }

func (d *discovery) Close() { d.d.Close() }

// known reports whether the registry has a descriptor of service.
func (h *Hub) known(service string) bool {
	return h.disc != nil && h.disc.service(service) != nil
}
