package dns

import (
	"context"
	"net/netip"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Source keeps an Index in step with the API through client-go informers of
// Services, EndpointSlices, Namespaces, Nodes (for the client filter) and,
// for verified pod records, Pods. The informers hold only the few fields DNS
// reads: a transform turns every object into a small one before it is cached.
type Source struct {
	ix      *Index
	clients *ClientFilter
	factory informers.SharedInformerFactory
	synced  []cache.InformerSynced
}

// NewSource wires informers from client to ix, and node addresses and pod
// networks to clients (which may be nil). It starts nothing.
func NewSource(client kubernetes.Interface, ix *Index, pods PodRecords, clients *ClientFilter) *Source {
	s := &Source{ix: ix, clients: clients}
	s.factory = informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(slimObject))
	add := func(inf cache.SharedIndexInformer, set func(any), del func(string, string)) {
		_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    set,
			UpdateFunc: func(_, cur any) { set(cur) },
			DeleteFunc: func(obj any) {
				if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = d.Obj
				}
				if m, ok := obj.(metav1.Object); ok {
					del(m.GetNamespace(), m.GetName())
				}
			},
		})
		s.synced = append(s.synced, inf.HasSynced)
	}
	add(s.factory.Core().V1().Services().Informer(), func(o any) {
		if v, ok := o.(*slimService); ok {
			ix.SetService(&v.svc)
		}
	}, ix.DeleteService)
	slices := s.factory.Discovery().V1().EndpointSlices().Informer()
	_, _ = slices.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { s.setSlice(o) },
		UpdateFunc: func(_, cur any) { s.setSlice(cur) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if v, ok := obj.(*slimSlice); ok {
				ix.DeleteSlice(v.Namespace, v.Name, v.slice.Service)
			}
		},
	})
	s.synced = append(s.synced, slices.HasSynced)
	add(s.factory.Core().V1().Namespaces().Informer(), func(o any) {
		if v, ok := o.(*slimNamespace); ok {
			ix.SetNamespace(v.Name)
		}
	}, func(_, name string) { ix.DeleteNamespace(name) })
	if pods == PodsVerified {
		add(s.factory.Core().V1().Pods().Informer(), func(o any) {
			if v, ok := o.(*slimPod); ok {
				ix.SetPod(v.pod)
			}
		}, ix.DeletePod)
	}
	if clients != nil {
		add(s.factory.Core().V1().Nodes().Informer(), func(o any) {
			if v, ok := o.(*slimNode); ok {
				clients.setNode(v.Name, v.nets)
			}
		}, func(_, name string) { clients.setNode(name, nil) })
	}
	return s
}

func (s *Source) setSlice(o any) {
	if v, ok := o.(*slimSlice); ok {
		s.ix.SetSlice(&v.slice)
	}
}

// Run starts the informers and blocks until ctx ends.
func (s *Source) Run(ctx context.Context) {
	s.factory.Start(ctx.Done())
	<-ctx.Done()
	s.factory.Shutdown()
}

// WaitForSync blocks until every informer has listed once, or ctx ends.
func (s *Source) WaitForSync(ctx context.Context) bool {
	return cache.WaitForCacheSync(ctx.Done(), s.synced...)
}

// The cached forms of API objects: a name and what DNS reads. They implement
// runtime.Object and metav1.Object, which the informer machinery needs.
type (
	slimService struct {
		metav1.ObjectMeta
		svc Service
	}
	slimSlice struct {
		metav1.ObjectMeta
		slice Slice
	}
	slimNamespace struct{ metav1.ObjectMeta }
	slimPod       struct {
		metav1.ObjectMeta
		pod Pod
	}
	slimNode struct {
		metav1.ObjectMeta
		nets []netip.Prefix
	}
)

func (o *slimService) GetObjectKind() schema.ObjectKind   { return schema.EmptyObjectKind }
func (o *slimService) DeepCopyObject() runtime.Object     { c := *o; return &c }
func (o *slimSlice) GetObjectKind() schema.ObjectKind     { return schema.EmptyObjectKind }
func (o *slimSlice) DeepCopyObject() runtime.Object       { c := *o; return &c }
func (o *slimNamespace) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }
func (o *slimNamespace) DeepCopyObject() runtime.Object   { c := *o; return &c }
func (o *slimPod) GetObjectKind() schema.ObjectKind       { return schema.EmptyObjectKind }
func (o *slimPod) DeepCopyObject() runtime.Object         { c := *o; return &c }
func (o *slimNode) GetObjectKind() schema.ObjectKind      { return schema.EmptyObjectKind }
func (o *slimNode) DeepCopyObject() runtime.Object        { c := *o; return &c }

func slimMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, ResourceVersion: m.ResourceVersion}
}

// slimObject is the informers' transform.
func slimObject(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Service:
		return &slimService{ObjectMeta: slimMeta(o.ObjectMeta), svc: serviceOf(o)}, nil
	case *discoveryv1.EndpointSlice:
		return &slimSlice{ObjectMeta: slimMeta(o.ObjectMeta), slice: sliceOf(o)}, nil
	case *corev1.Namespace:
		return &slimNamespace{ObjectMeta: slimMeta(o.ObjectMeta)}, nil
	case *corev1.Pod:
		return &slimPod{ObjectMeta: slimMeta(o.ObjectMeta), pod: podOf(o)}, nil
	case *corev1.Node:
		return &slimNode{ObjectMeta: slimMeta(o.ObjectMeta), nets: nodeNets(o)}, nil
	}
	return obj, nil
}

func serviceOf(o *corev1.Service) Service {
	s := Service{Namespace: o.Namespace, Name: o.Name, PublishNotReadyAddresses: o.Spec.PublishNotReadyAddresses}
	if o.Spec.Type == corev1.ServiceTypeExternalName {
		s.ExternalName = o.Spec.ExternalName
		return s
	}
	s.Headless = o.Spec.ClusterIP == corev1.ClusterIPNone
	ips := o.Spec.ClusterIPs
	if len(ips) == 0 && o.Spec.ClusterIP != "" {
		ips = []string{o.Spec.ClusterIP}
	}
	for _, ip := range ips {
		if a, err := netip.ParseAddr(ip); err == nil {
			s.ClusterIPs = append(s.ClusterIPs, a)
		}
	}
	for _, p := range o.Spec.Ports {
		s.Ports = append(s.Ports, Port{Name: p.Name, Proto: protoOf(p.Protocol), Port: uint16(p.Port)})
	}
	return s
}

func protoOf(p corev1.Protocol) string {
	if p == "" {
		return "tcp"
	}
	return strings.ToLower(string(p))
}

func sliceOf(o *discoveryv1.EndpointSlice) Slice {
	s := Slice{Namespace: o.Namespace, Name: o.Name, Service: o.Labels[discoveryv1.LabelServiceName]}
	if o.AddressType == discoveryv1.AddressTypeFQDN {
		return s
	}
	for _, ep := range o.Endpoints {
		e := Endpoint{Ready: ep.Conditions.Ready == nil || *ep.Conditions.Ready}
		if ep.Hostname != nil {
			e.Hostname = *ep.Hostname
		}
		for _, a := range ep.Addresses {
			if ip, err := netip.ParseAddr(a); err == nil {
				e.Addrs = append(e.Addrs, ip)
			}
		}
		s.Endpoints = append(s.Endpoints, e)
	}
	for _, p := range o.Ports {
		port := Port{Proto: "tcp"}
		if p.Name != nil {
			port.Name = *p.Name
		}
		if p.Protocol != nil {
			port.Proto = protoOf(*p.Protocol)
		}
		if p.Port != nil {
			port.Port = uint16(*p.Port)
		}
		s.Ports = append(s.Ports, port)
	}
	return s
}

func podOf(o *corev1.Pod) Pod {
	p := Pod{Namespace: o.Namespace, Name: o.Name}
	if o.Status.Phase == corev1.PodSucceeded || o.Status.Phase == corev1.PodFailed {
		return p
	}
	for _, ip := range o.Status.PodIPs {
		if a, err := netip.ParseAddr(ip.IP); err == nil {
			p.IPs = append(p.IPs, a)
		}
	}
	if len(p.IPs) == 0 && o.Status.PodIP != "" {
		if a, err := netip.ParseAddr(o.Status.PodIP); err == nil {
			p.IPs = append(p.IPs, a)
		}
	}
	return p
}

// nodeNets are a node's addresses (as host prefixes) and pod networks.
func nodeNets(o *corev1.Node) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range o.Status.Addresses {
		if a.Type != corev1.NodeInternalIP && a.Type != corev1.NodeExternalIP {
			continue
		}
		if ip, err := netip.ParseAddr(a.Address); err == nil {
			out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
		}
	}
	cidrs := o.Spec.PodCIDRs
	if len(cidrs) == 0 && o.Spec.PodCIDR != "" {
		cidrs = []string{o.Spec.PodCIDR}
	}
	for _, c := range cidrs {
		if p, err := netip.ParsePrefix(c); err == nil {
			out = append(out, p.Masked())
		}
	}
	return out
}

// ClientFilter decides who may query: loopback, the given networks (the
// cluster's pod networks, the node's own addresses), and every node's
// addresses and pod networks as the API lists them. Everyone else is REFUSED,
// so the server is never an open resolver.
type ClientFilter struct {
	static []netip.Prefix
	mu     sync.RWMutex
	nodes  map[string][]netip.Prefix
	all    []netip.Prefix
}

// NewClientFilter allows loopback and nets.
func NewClientFilter(nets []netip.Prefix) *ClientFilter {
	f := &ClientFilter{static: nets, nodes: map[string][]netip.Prefix{}}
	f.all = append([]netip.Prefix(nil), nets...)
	return f
}

func (f *ClientFilter) setNode(name string, nets []netip.Prefix) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if nets == nil {
		delete(f.nodes, name)
	} else {
		f.nodes[name] = nets
	}
	all := append([]netip.Prefix(nil), f.static...)
	for _, n := range f.nodes {
		all = append(all, n...)
	}
	f.all = all
}

// Allowed reports whether ip may query.
func (f *ClientFilter) Allowed(ip netip.Addr) bool {
	if ip.IsLoopback() {
		return true
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, p := range f.all {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
