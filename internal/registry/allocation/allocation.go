package allocation

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/util/validation/field"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/svcnet/svcnet/internal/allocator"
	"github.com/svcnet/svcnet/internal/storage"
)

// Key prefixes of the allocation records.
const (
	IPPrefix   = "/registry/allocations/clusterips/"
	PortPrefix = "/registry/allocations/nodeports/"
	// ServicePrefix is where Services are stored.
	ServicePrefix = "/registry/services/"
)

// Allocations allocates ClusterIPs and NodePorts for Services. It is safe for
// concurrent use; Run keeps its view of the records current.
type Allocations struct {
	store  *storage.Store
	ranges []*allocator.IPRange // the service CIDRs, primary first
	ports  *allocator.PortRange
	log    *slog.Logger

	usedIPs   *allocator.Used[netip.Addr]
	usedPorts *allocator.Used[int]
	synced    atomic.Bool

	mu  sync.Mutex
	rnd *rand.Rand
}

// New returns Allocations over store for the given ranges: one service CIDR, or
// one per IP family (primary first) on a dual-stack cluster.
func New(store *storage.Store, ips []*allocator.IPRange, ports *allocator.PortRange, log *slog.Logger) *Allocations {
	return &Allocations{
		store:     store,
		ranges:    ips,
		ports:     ports,
		log:       log,
		usedIPs:   allocator.NewUsed[netip.Addr](),
		usedPorts: allocator.NewUsed[int](),
		rnd:       rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed)),
	}
}

// IPRanges returns the service CIDRs, primary first.
func (a *Allocations) IPRanges() []*allocator.IPRange { return a.ranges }

// Families returns the IP families of the service CIDRs, primary first.
func (a *Allocations) Families() []corev1.IPFamily {
	fams := make([]corev1.IPFamily, len(a.ranges))
	for i, r := range a.ranges {
		fams[i] = r.Family()
	}
	return fams
}

// rangeFor returns the service CIDR of family fam, or nil if the cluster has none.
func (a *Allocations) rangeFor(fam corev1.IPFamily) *allocator.IPRange {
	for _, r := range a.ranges {
		if r.Family() == fam {
			return r
		}
	}
	return nil
}

// Ready reports whether the view of allocations has been loaded.
func (a *Allocations) Ready() error {
	if !a.synced.Load() {
		return fmt.Errorf("allocations not loaded yet")
	}
	return nil
}

func ipKey(ip netip.Addr) string { return IPPrefix + ip.String() }
func portKey(p int) string       { return PortPrefix + strconv.Itoa(p) }

func owner(svc *corev1.Service) []byte { return []byte(svc.Namespace + "/" + svc.Name) }

// OnConflict records that key was taken by someone else, so the next attempt picks
// another value (or refuses a requested one).
func (a *Allocations) OnConflict(key string) {
	switch {
	case strings.HasPrefix(key, IPPrefix):
		if ip, err := netip.ParseAddr(strings.TrimPrefix(key, IPPrefix)); err == nil {
			a.usedIPs.Add(ip)
		}
	case strings.HasPrefix(key, PortPrefix):
		if p, err := strconv.Atoi(strings.TrimPrefix(key, PortPrefix)); err == nil {
			a.usedPorts.Add(p)
		}
	}
}

// needsClusterIP tells whether svc gets a ClusterIP from the range.
func needsClusterIP(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP != corev1.ClusterIPNone
}

func needsNodePorts(svc *corev1.Service) bool {
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		return true
	case corev1.ServiceTypeLoadBalancer:
		return svc.Spec.AllocateLoadBalancerNodePorts == nil || *svc.Spec.AllocateLoadBalancerNodePorts
	}
	return false
}

func needsHealthCheck(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

// held lists what svc holds: its ClusterIP and node ports (including the health check port).
func held(svc *corev1.Service) (ips []netip.Addr, ports []int) {
	if svc.Spec.Type != corev1.ServiceTypeExternalName {
		for _, s := range svc.Spec.ClusterIPs {
			if ip, err := netip.ParseAddr(s); err == nil {
				ips = append(ips, ip)
			}
		}
		if len(svc.Spec.ClusterIPs) == 0 {
			if ip, err := netip.ParseAddr(svc.Spec.ClusterIP); err == nil {
				ips = append(ips, ip)
			}
		}
	}
	seen := map[int]bool{}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 && !seen[int(p.NodePort)] {
			seen[int(p.NodePort)] = true
			ports = append(ports, int(p.NodePort))
		}
	}
	if hc := int(svc.Spec.HealthCheckNodePort); hc != 0 && !seen[hc] {
		ports = append(ports, hc)
	}
	return ips, ports
}

// allocate fills the missing ClusterIP and node ports of svc and returns the ops that
// record every value svc holds and old did not (old may be nil).
func (a *Allocations) allocate(svc, old *corev1.Service) ([]storage.Op, error) {
	var ops []storage.Op
	var oldIPs []netip.Addr
	var oldPorts []int
	if old != nil {
		oldIPs, oldPorts = held(old)
	}
	hadIP := func(ip netip.Addr) bool {
		for _, o := range oldIPs {
			if o == ip {
				return true
			}
		}
		return false
	}
	hadPort := func(p int) bool {
		for _, o := range oldPorts {
			if o == p {
				return true
			}
		}
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()

	// kube-apiserver allocates before it validates and stops at the first
	// value it cannot have; so does this, with its paths and messages.
	invalid := func(e *field.Error) error {
		return apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name, field.ErrorList{e})
	}
	if needsClusterIP(svc) {
		ipOps, ipErr, err := a.allocateClusterIPs(svc, hadIP)
		if err != nil {
			return nil, err
		}
		if ipErr != nil {
			return nil, invalid(ipErr)
		}
		ops = append(ops, ipOps...)
	}

	if needsNodePorts(svc) || svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		claimed := map[int]bool{}
		byPort := map[int32]int32{} // service port number -> node port already chosen in this Service
		for i := range svc.Spec.Ports {
			p := &svc.Spec.Ports[i]
			fld := field.NewPath("spec", "ports").Index(i).Child("nodePort")
			if p.NodePort == 0 && needsNodePorts(svc) {
				if np, ok := byPort[p.Port]; ok {
					p.NodePort = np
					continue
				}
				// A later port of the same number that asks for a node port
				// gives it to this one too (TCP and UDP on one node port).
				p.NodePort = requestedNodePort(p.Port, svc.Spec.Ports[i+1:])
				if p.NodePort == 0 {
					np, err := a.ports.Pick(a.rnd, func(n int) bool { return claimed[n] || a.usedPorts.Has(n) })
					if err != nil {
						return nil, apierrors.NewInternalError(fmt.Errorf("failed to allocate a nodePort: %w", err))
					}
					p.NodePort = int32(np)
					claimed[np] = true
					ops = append(ops, storage.Put(portKey(np), owner(svc), storage.Absent))
				}
			}
			if n := int(p.NodePort); n != 0 && !claimed[n] && !hadPort(n) {
				if err := a.ports.CheckRequested(n); err != nil {
					return nil, invalid(field.Invalid(fld, p.NodePort, err.Error()))
				}
				if a.usedPorts.Has(n) {
					return nil, invalid(field.Invalid(fld, p.NodePort, allocator.ErrPortAllocated.Error()))
				}
				claimed[n] = true
				ops = append(ops, storage.Put(portKey(n), owner(svc), storage.Absent))
			}
			if p.NodePort != 0 {
				byPort[p.Port] = p.NodePort
			}
		}
		if needsHealthCheck(svc) {
			hc := int(svc.Spec.HealthCheckNodePort)
			switch {
			case hc == 0:
				np, err := a.ports.Pick(a.rnd, func(n int) bool { return claimed[n] || a.usedPorts.Has(n) })
				if err != nil {
					return nil, apierrors.NewInternalError(fmt.Errorf("failed to allocate a HealthCheck NodePort 0: %w", err))
				}
				svc.Spec.HealthCheckNodePort = int32(np)
				ops = append(ops, storage.Put(portKey(np), owner(svc), storage.Absent))
			case !claimed[hc] && !hadPort(hc):
				err := a.ports.CheckRequested(hc)
				if err == nil && a.usedPorts.Has(hc) {
					err = allocator.ErrPortAllocated
				}
				if err != nil {
					return nil, apierrors.NewInternalError(fmt.Errorf("failed to allocate requested HealthCheck NodePort %d: %w", hc, err))
				}
				ops = append(ops, storage.Put(portKey(hc), owner(svc), storage.Absent))
			}
		}
	}
	return ops, nil
}

// requestedNodePort is the node port the first of ports with service port
// number port asks for, or 0.
func requestedNodePort(port int32, ports []corev1.ServicePort) int32 {
	for _, p := range ports {
		if p.Port == port && p.NodePort != 0 {
			return p.NodePort
		}
	}
	return 0
}

// allocateClusterIPs gives svc one cluster IP per family in spec.ipFamilies
// (filled by service.DefaultIPFamilies; the primary range's family if empty),
// keeping the ones it asks for and picking the missing ones, and returns the ops
// that record every IP it did not hold before. The caller holds a.mu.
func (a *Allocations) allocateClusterIPs(svc *corev1.Service, hadIP func(netip.Addr) bool) ([]storage.Op, *field.Error, error) {
	fams := svc.Spec.IPFamilies
	if len(fams) == 0 {
		fams = []corev1.IPFamily{a.ranges[0].Family()}
	}
	var ops []storage.Op
	for i, fam := range fams {
		if i < len(svc.Spec.ClusterIPs) && svc.Spec.ClusterIPs[i] != "" {
			requested := svc.Spec.ClusterIPs[i]
			ip, err := netip.ParseAddr(requested)
			if err != nil || hadIP(ip) {
				continue // validation reports malformed IPs
			}
			r := a.rangeFor(allocator.AddrFamily(ip))
			if r == nil {
				continue // service.ValidateClusterFamilies reports it
			}
			err = r.CheckRequested(ip)
			if err == nil && a.usedIPs.Has(ip) {
				err = allocator.ErrIPAllocated
			}
			if err != nil {
				return nil, field.Invalid(field.NewPath("spec", "clusterIPs"), svc.Spec.ClusterIPs,
					fmt.Sprintf("failed to allocate IP %s: %v", requested, err)), nil
			}
			ops = append(ops, storage.Put(ipKey(ip), owner(svc), storage.Absent))
			continue
		}
		r := a.rangeFor(fam)
		if r == nil {
			continue // service.ValidateClusterFamilies reports it
		}
		ip, err := r.Pick(a.rnd, a.usedIPs.Has)
		if err != nil {
			return nil, nil, apierrors.NewInternalError(fmt.Errorf("failed to allocate a serviceIP: %w", err))
		}
		if i < len(svc.Spec.ClusterIPs) {
			svc.Spec.ClusterIPs[i] = ip.String()
		} else {
			svc.Spec.ClusterIPs = append(svc.Spec.ClusterIPs, ip.String())
		}
		ops = append(ops, storage.Put(ipKey(ip), owner(svc), storage.Absent))
	}
	if len(svc.Spec.ClusterIPs) > 0 {
		svc.Spec.ClusterIP = svc.Spec.ClusterIPs[0]
	}
	return ops, nil, nil
}

// release returns ops deleting the records old holds and svc (may be nil) does not.
func release(svc, old *corev1.Service) []storage.Op {
	oldIPs, oldPorts := held(old)
	keep := map[string]bool{}
	if svc != nil {
		ips, ports := held(svc)
		for _, ip := range ips {
			keep[ipKey(ip)] = true
		}
		for _, p := range ports {
			keep[portKey(p)] = true
		}
	}
	var ops []storage.Op
	for _, ip := range oldIPs {
		if k := ipKey(ip); !keep[k] {
			ops = append(ops, storage.Del(k, storage.Any))
		}
	}
	for _, p := range oldPorts {
		if k := portKey(p); !keep[k] {
			ops = append(ops, storage.Del(k, storage.Any))
		}
	}
	return ops
}

// BeforeCreate allocates for a new Service.
func (a *Allocations) BeforeCreate(_ context.Context, obj runtime.Object, dryRun bool) ([]storage.Op, error) {
	return a.allocate(obj.(*corev1.Service), nil)
}

// BeforeUpdate allocates what an updated Service newly needs and frees what it no
// longer holds.
func (a *Allocations) BeforeUpdate(_ context.Context, obj, old runtime.Object, dryRun bool) ([]storage.Op, error) {
	svc, prev := obj.(*corev1.Service), old.(*corev1.Service)
	ops, err := a.allocate(svc, prev)
	if err != nil {
		return nil, err
	}
	return append(ops, release(svc, prev)...), nil
}

// BeforeDelete frees everything the Service holds.
func (a *Allocations) BeforeDelete(_ context.Context, obj runtime.Object) ([]storage.Op, error) {
	return release(nil, obj.(*corev1.Service)), nil
}

var serviceCodec = protobuf.NewSerializer(clientgoscheme.Scheme, clientgoscheme.Scheme)

func decodeService(data []byte) (*corev1.Service, error) {
	obj, _, err := serviceCodec.Decode(data, nil, &corev1.Service{})
	if err != nil {
		return nil, fmt.Errorf("decode stored service: %w", err)
	}
	return obj.(*corev1.Service), nil
}
