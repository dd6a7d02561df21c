package dns

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Source keeps an Index in step with the API through client-go reflectors of
// Services, EndpointSlices, Namespaces, Nodes (for the client filter) and,
// for verified pod records, Pods. The Index is the reflectors' only store:
// no informer cache holds a second copy, and every object is cut down to the
// few fields DNS reads as it arrives.
type Source struct {
	reflectors []*cache.Reflector
	stores     []*indexStore
}

// NewSource wires reflectors from client to ix, and node addresses and pod
// networks to clients (which may be nil). It starts nothing.
func NewSource(client kubernetes.Interface, ix *Index, pods PodRecords, clients *ClientFilter) *Source {
	s := &Source{}
	add := func(name string, expected runtime.Object, lw *cache.ListWatch, st *indexStore) {
		r := cache.NewReflectorWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, client), expected, st,
			cache.ReflectorOptions{Name: "dns-" + name})
		s.reflectors = append(s.reflectors, r)
		s.stores = append(s.stores, st)
	}
	add("services", &corev1.Service{}, &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return client.CoreV1().Services("").List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return client.CoreV1().Services("").Watch(ctx, o)
		},
	}, &indexStore{
		set: func(o any) {
			if v, ok := asService(o); ok {
				ix.SetService(v)
			}
		},
		del: func(o any) {
			if v, ok := asService(o); ok {
				ix.DeleteService(v.Namespace, v.Name)
			}
		},
		replace: func(list []any) {
			var out []*Service
			for _, o := range list {
				if v, ok := asService(o); ok {
					out = append(out, v)
				}
			}
			ix.ReplaceServices(out)
		},
	})
	add("endpointslices", &discoveryv1.EndpointSlice{}, &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return client.DiscoveryV1().EndpointSlices("").List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return client.DiscoveryV1().EndpointSlices("").Watch(ctx, o)
		},
	}, &indexStore{
		set: func(o any) {
			if v, ok := asSlice(o); ok {
				ix.SetSlice(v)
			}
		},
		del: func(o any) {
			if v, ok := asSlice(o); ok {
				ix.DeleteSlice(v.Namespace, v.Name, v.Service)
			}
		},
		replace: func(list []any) {
			var out []*Slice
			for _, o := range list {
				if v, ok := asSlice(o); ok {
					out = append(out, v)
				}
			}
			ix.ReplaceSlices(out)
		},
	})
	add("namespaces", &corev1.Namespace{}, &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return client.CoreV1().Namespaces().List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return client.CoreV1().Namespaces().Watch(ctx, o)
		},
	}, &indexStore{
		set: func(o any) {
			if m, ok := o.(metav1.Object); ok {
				ix.SetNamespace(m.GetName())
			}
		},
		del: func(o any) {
			if m, ok := o.(metav1.Object); ok {
				ix.DeleteNamespace(m.GetName())
			}
		},
		replace: func(list []any) {
			var out []string
			for _, o := range list {
				if m, ok := o.(metav1.Object); ok {
					out = append(out, m.GetName())
				}
			}
			ix.ReplaceNamespaces(out)
		},
	})
	if pods == PodsVerified {
		add("pods", &corev1.Pod{}, &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return client.CoreV1().Pods("").List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return client.CoreV1().Pods("").Watch(ctx, o)
			},
		}, &indexStore{
			set: func(o any) {
				if v, ok := asPod(o); ok {
					ix.SetPod(v)
				}
			},
			del: func(o any) {
				if v, ok := asPod(o); ok {
					ix.DeletePod(v.Namespace, v.Name)
				}
			},
			replace: func(list []any) {
				out := make([]Pod, 0, len(list))
				for _, o := range list {
					if v, ok := asPod(o); ok {
						out = append(out, v)
					}
				}
				ix.ReplacePods(out)
			},
		})
	}
	if clients != nil {
		add("nodes", &corev1.Node{}, &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return client.CoreV1().Nodes().List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return client.CoreV1().Nodes().Watch(ctx, o)
			},
		}, &indexStore{
			set: func(o any) {
				if name, nets, ok := asNode(o); ok {
					clients.setNode(name, nets)
				}
			},
			del: func(o any) {
				if name, _, ok := asNode(o); ok {
					clients.setNode(name, nil)
				}
			},
			replace: func(list []any) {
				nodes := map[string][]netip.Prefix{}
				for _, o := range list {
					if name, nets, ok := asNode(o); ok {
						nodes[name] = nets
					}
				}
				clients.replaceNodes(nodes)
			},
		})
	}
	return s
}

// indexStore is a reflector's store that writes through to the Index.
type indexStore struct {
	set, del func(obj any)
	replace  func(list []any)
	synced   atomic.Bool
}

func (s *indexStore) Add(obj any) error    { s.set(obj); return nil }
func (s *indexStore) Update(obj any) error { s.set(obj); return nil }
func (s *indexStore) Delete(obj any) error { s.del(obj); return nil }
func (s *indexStore) Resync() error        { return nil }

// Replace takes a whole list (the first one, and every relist).
func (s *indexStore) Replace(list []any, _ string) error {
	s.replace(list)
	s.synced.Store(true)
	return nil
}

// Transformer cuts objects down while a streaming list collects them, so
// even the first list never holds whole objects.
func (s *indexStore) Transformer() cache.TransformFunc { return slimObject }

var _ cache.TransformingStore = (*indexStore)(nil)

// Run runs the reflectors and blocks until ctx ends.
func (s *Source) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, r := range s.reflectors {
		wg.Go(func() { r.RunWithContext(ctx) })
	}
	wg.Wait()
}

// Synced reports whether every reflector has listed once.
func (s *Source) Synced() bool {
	for _, st := range s.stores {
		if !st.synced.Load() {
			return false
		}
	}
	return true
}

// WaitForSync blocks until every reflector has listed once, or ctx ends.
func (s *Source) WaitForSync(ctx context.Context) bool {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !s.Synced() {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}

func asService(o any) (*Service, bool) {
	switch v := o.(type) {
	case *corev1.Service:
		s := serviceOf(v)
		return &s, true
	case *slimService:
		return &v.svc, true
	}
	return nil, false
}

func asSlice(o any) (*Slice, bool) {
	switch v := o.(type) {
	case *discoveryv1.EndpointSlice:
		s := sliceOf(v)
		return &s, true
	case *slimSlice:
		return &v.slice, true
	}
	return nil, false
}

func asPod(o any) (Pod, bool) {
	switch v := o.(type) {
	case *corev1.Pod:
		return podOf(v), true
	case *slimPod:
		return v.pod, true
	}
	return Pod{}, false
}

func asNode(o any) (string, []netip.Prefix, bool) {
	switch v := o.(type) {
	case *corev1.Node:
		return v.Name, nodeNets(v), true
	case *slimNode:
		return v.Name, v.nets, true
	}
	return "", nil, false
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
	f.recompute()
}

// replaceNodes sets every node's networks at once.
func (f *ClientFilter) replaceNodes(nodes map[string][]netip.Prefix) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nodes = nodes
	f.recompute()
}

func (f *ClientFilter) recompute() {
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
