package endpointslice

// Test conventions: namespace "ns"; Pod IPs 10.0.<i/256>.<i%256+...> (IPv4) and
// fd00::<n> (IPv6); Nodes "node-a" in zone "zone-a" and "node-b" in "zone-b";
// Services have UID "uid-<name>". The fake API server below assigns names
// (generateName), UIDs and increasing resourceVersions, validates slices with the
// real server's rules, and (unless told otherwise) puts every write into the
// controller's cache at once, so syncs can follow each other without informers.

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	regslice "github.com/svcnet/svcnet/internal/registry/endpointslice"
)

const testNS = "ns"

// apiServer is a fake server for EndpointSlices.
type apiServer struct {
	mu     sync.Mutex
	rv     int
	names  int
	slices map[string]*discoveryv1.EndpointSlice // by name
	// cache, when set, receives every write at once.
	cache cache.Indexer
}

func (s *apiServer) react(action k8stesting.Action) (bool, runtime.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gr := discoveryv1.Resource("endpointslices")
	switch action.GetVerb() {
	case "create":
		a := action.(k8stesting.CreateAction)
		in := a.GetObject().(*discoveryv1.EndpointSlice).DeepCopy()
		if in.Name == "" {
			s.names++
			in.Name = in.GenerateName + fmt.Sprintf("%05d", s.names)
		}
		if _, ok := s.slices[in.Name]; ok {
			return true, nil, apierrors.NewAlreadyExists(gr, in.Name)
		}
		in.Namespace = a.GetNamespace()
		in.UID = types.UID("uid-" + in.Name)
		in.Generation = 1
		if err := s.validate(in, nil); err != nil {
			return true, nil, err
		}
		return true, s.store(in), nil
	case "update":
		in := action.(k8stesting.UpdateAction).GetObject().(*discoveryv1.EndpointSlice).DeepCopy()
		old, ok := s.slices[in.Name]
		if !ok {
			return true, nil, apierrors.NewNotFound(gr, in.Name)
		}
		if in.ResourceVersion != "" && in.ResourceVersion != old.ResourceVersion {
			return true, nil, apierrors.NewConflict(gr, in.Name, fmt.Errorf("stale resourceVersion %s", in.ResourceVersion))
		}
		in.UID, in.Generation = old.UID, old.Generation+1
		if err := s.validate(in, old); err != nil {
			return true, nil, err
		}
		return true, s.store(in), nil
	case "delete":
		a := action.(k8stesting.DeleteAction)
		old, ok := s.slices[a.GetName()]
		if !ok {
			return true, nil, apierrors.NewNotFound(gr, a.GetName())
		}
		delete(s.slices, a.GetName())
		if s.cache != nil {
			_ = s.cache.Delete(old)
		}
		return true, nil, nil
	}
	return false, nil, nil
}

func (s *apiServer) validate(in, old *discoveryv1.EndpointSlice) error {
	regslice.Default(in)
	errs := regslice.ValidateCreate(in)
	if old != nil {
		errs = regslice.ValidateUpdate(in, old)
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice").GroupKind(), in.Name, errs)
	}
	return nil
}

func (s *apiServer) store(in *discoveryv1.EndpointSlice) *discoveryv1.EndpointSlice {
	s.rv++
	in.ResourceVersion = strconv.Itoa(s.rv)
	s.slices[in.Name] = in
	if s.cache != nil {
		_ = s.cache.Add(in.DeepCopy())
	}
	return in.DeepCopy()
}

// list returns the stored slices, by name.
func (s *apiServer) list() []*discoveryv1.EndpointSlice {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*discoveryv1.EndpointSlice, 0, len(s.slices))
	for _, name := range slices.Sorted(maps.Keys(s.slices)) {
		out = append(out, s.slices[name].DeepCopy())
	}
	return out
}

// harness is a Controller over unstarted informers whose caches the test fills.
type harness struct {
	t       testing.TB
	client  *fake.Clientset
	factory informers.SharedInformerFactory
	c       *Controller
	server  *apiServer
	opts    Options
}

func newHarness(t testing.TB, opts Options, objs ...runtime.Object) *harness {
	h := &harness{t: t, opts: opts, server: &apiServer{slices: map[string]*discoveryv1.EndpointSlice{}}}
	h.build()
	for _, o := range objs {
		if s, ok := o.(*discoveryv1.EndpointSlice); ok {
			h.server.rv++
			s = s.DeepCopy()
			if s.ResourceVersion == "" {
				s.ResourceVersion = strconv.Itoa(h.server.rv)
			}
			h.server.slices[s.Name] = s
		}
		h.add(o)
	}
	return h
}

// build makes a fresh client, informers and Controller (a controller restart);
// the fake server keeps its slices, and the caller refills the caches.
func (h *harness) build() {
	h.client = fake.NewClientset()
	h.client.PrependReactor("*", "endpointslices", h.server.react)
	h.factory = informers.NewSharedInformerFactory(h.client, 0)
	h.c = New(h.client, h.factory, h.opts)
	h.server.cache = h.factory.Discovery().V1().EndpointSlices().Informer().GetIndexer()
}

// restart replaces the Controller with a new one whose caches hold the same
// objects (and the slices the server holds).
func (h *harness) restart() {
	var objs []runtime.Object
	for _, inf := range []cache.SharedIndexInformer{
		h.factory.Core().V1().Services().Informer(), h.factory.Core().V1().Pods().Informer(),
		h.factory.Core().V1().Nodes().Informer(),
	} {
		for _, o := range inf.GetIndexer().List() {
			objs = append(objs, o.(runtime.Object))
		}
	}
	h.build()
	for _, o := range objs {
		h.add(o)
	}
	for _, s := range h.server.list() {
		h.add(s)
	}
}

func (h *harness) indexer(o runtime.Object) cache.Indexer {
	switch o.(type) {
	case *corev1.Service:
		return h.factory.Core().V1().Services().Informer().GetIndexer()
	case *corev1.Pod:
		return h.factory.Core().V1().Pods().Informer().GetIndexer()
	case *corev1.Node:
		return h.factory.Core().V1().Nodes().Informer().GetIndexer()
	case *discoveryv1.EndpointSlice:
		return h.factory.Discovery().V1().EndpointSlices().Informer().GetIndexer()
	}
	h.t.Fatalf("no cache for %T", o)
	return nil
}

// add puts (or replaces) an object in the controller's cache.
func (h *harness) add(o runtime.Object) {
	if err := h.indexer(o).Add(o); err != nil {
		h.t.Fatal(err)
	}
}

// remove deletes an object from the controller's cache.
func (h *harness) remove(o runtime.Object) {
	if err := h.indexer(o).Delete(o); err != nil {
		h.t.Fatal(err)
	}
}

// pod returns the cached Pod of that name, for a step to modify and add back.
func (h *harness) pod(name string) *corev1.Pod {
	o, ok, _ := h.factory.Core().V1().Pods().Informer().GetIndexer().GetByKey(testNS + "/" + name)
	if !ok {
		h.t.Fatalf("no pod %s", name)
	}
	return o.(*corev1.Pod).DeepCopy()
}

// service returns the cached Service of that name.
func (h *harness) service(name string) *corev1.Service {
	o, ok, _ := h.factory.Core().V1().Services().Informer().GetIndexer().GetByKey(testNS + "/" + name)
	if !ok {
		h.t.Fatalf("no service %s", name)
	}
	return o.(*corev1.Service).DeepCopy()
}

func (h *harness) sync(name string) error {
	h.client.ClearActions()
	return h.c.sync(h.t.Context(), testNS+"/"+name)
}

// writes counts the slice writes of the last sync.
type writes struct{ creates, updates, deletes int }

func (w writes) String() string {
	return fmt.Sprintf("%d creates, %d updates, %d deletes", w.creates, w.updates, w.deletes)
}

func (h *harness) writes() writes {
	var w writes
	for _, a := range h.client.Actions() {
		if a.GetResource().Resource != "endpointslices" {
			continue
		}
		switch a.GetVerb() {
		case "create":
			w.creates++
		case "update":
			w.updates++
		case "delete":
			w.deletes++
		}
	}
	return w
}

// summary describes the server's slices of a Service (or all with svc ""),
// one line per slice, sorted: "<addressType> <ports> <endpoints>", each endpoint
// "<pod>=<addresses>:<flags>", flags R(eady) S(erving) T(erminating).
func (h *harness) summary(svc string) []string {
	var out []string
	for _, s := range h.server.list() {
		if svc != "" && s.Labels[discoveryv1.LabelServiceName] != svc {
			continue
		}
		out = append(out, describe(s))
	}
	sort.Strings(out)
	return out
}

func describe(s *discoveryv1.EndpointSlice) string {
	var ports []string
	for _, p := range s.Ports {
		ports = append(ports, fmt.Sprintf("%s:%d/%s", deref(p.Name), deref(p.Port), deref(p.Protocol)))
	}
	sort.Strings(ports)
	var eps []string
	for _, ep := range s.Endpoints {
		flags := ""
		if deref(ep.Conditions.Ready) {
			flags += "R"
		}
		if deref(ep.Conditions.Serving) {
			flags += "S"
		}
		if deref(ep.Conditions.Terminating) {
			flags += "T"
		}
		name := ""
		if ep.TargetRef != nil {
			name = ep.TargetRef.Name
		}
		eps = append(eps, fmt.Sprintf("%s=%s:%s", name, strings.Join(ep.Addresses, ","), flags))
	}
	sort.Strings(eps)
	return fmt.Sprintf("%s [%s] %s", s.AddressType, strings.Join(ports, " "), strings.Join(eps, " "))
}

// Object builders.

func service(name string, mods ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: name, UID: types.UID("uid-" + name), ResourceVersion: "1"},
		Spec: corev1.ServiceSpec{
			Selector:   map[string]string{"app": name},
			ClusterIP:  "10.96.0.10",
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports: []corev1.ServicePort{{
				Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080),
			}},
		},
	}
	for _, m := range mods {
		m(s)
	}
	return s
}

// pod builds a ready Pod on node-a selected by Service app, with IPv4 ip.
func pod(name, app, ip string, mods ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: name, UID: types.UID("uid-" + name),
			Labels: map[string]string{"app": app}, ResourceVersion: "1"},
		Spec: corev1.PodSpec{
			NodeName: "node-a",
			Containers: []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{
				{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP},
			}}},
		},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			PodIP:      ip,
			PodIPs:     []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		},
	}
	for _, m := range mods {
		m(p)
	}
	return p
}

func notReady(p *corev1.Pod) {
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
}

func terminating(p *corev1.Pod) {
	now := metav1.Now()
	p.DeletionTimestamp = &now
}

func onNode(n string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.NodeName = n }
}

func node(name, zone string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "1"}}
	if zone != "" {
		n.Labels = map[string]string{corev1.LabelTopologyZone: zone}
	}
	return n
}

// nodes returns the two test Nodes.
func nodes() []runtime.Object {
	return []runtime.Object{node("node-a", "zone-a"), node("node-b", "zone-b")}
}

// ipv4 returns the i-th test Pod IP.
func ipv4(i int) string {
	return fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)
}

// manyPods returns n ready Pods of Service app, named <app>-0000...
func manyPods(app string, n int) []runtime.Object {
	out := make([]runtime.Object, n)
	for i := range n {
		out[i] = pod(fmt.Sprintf("%s-%04d", app, i), app, ipv4(i))
	}
	return out
}

func objects(groups ...[]runtime.Object) []runtime.Object {
	var out []runtime.Object
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func list(objs ...runtime.Object) []runtime.Object { return objs }
