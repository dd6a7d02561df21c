package main

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

const (
	benchNS = "bench"
	// managedBy marks the slices as written by this program, not by svcnet's
	// endpointslice controller.
	managedBy = "bench.svcnet.io"
	// endpointBase is where synthetic endpoint addresses start (10.64.0.0/10).
	// They are only data: nothing ever connects to them.
	endpointBase = "10.64.0.0"
)

func serviceName(i int) string { return fmt.Sprintf("s%05d", i) }

// syntheticService is a selector-less ClusterIP Service with one TCP port.
func syntheticService(name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: benchNS},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{
			Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}}},
	}
}

// slice is the hand-written EndpointSlice of Service svc with the given
// endpoint addresses, all with the same readiness.
func slice(svc string, addrs []string, ready bool, node string) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: svc + "-1", Namespace: benchNS, Labels: map[string]string{
			discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: managedBy}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080),
			Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for _, a := range addrs {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}, NodeName: ptr.To(node),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(ready), Serving: ptr.To(ready), Terminating: ptr.To(false)}})
	}
	return s
}

// syntheticAddrs are the endpoints of synthetic Service i.
func syntheticAddrs(i, n int) []string {
	base := netip.MustParseAddr(endpointBase).As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	out := make([]string, n)
	for j := range n {
		v := start + uint32(i*n+j)
		out[j] = netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
	}
	return out
}

func ensureNamespace(ctx context.Context, cs kubernetes.Interface) error {
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNS}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", benchNS, err)
	}
	return nil
}

// fillResult is one stage's fill.
type fillResult struct {
	from, to int
	took     time.Duration
}

func (f fillResult) objects() int { return 2 * (f.to - f.from) }

func (f fillResult) rate() float64 {
	if f.took <= 0 {
		return 0
	}
	return float64(f.objects()) / f.took.Seconds()
}

// fill creates synthetic Services [from, to), each followed by its slice, with
// workers parallel clients sharing cs.
func fill(ctx context.Context, cs kubernetes.Interface, from, to, endpoints, workers int) (fillResult, error) {
	start := time.Now()
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= to || ctx.Err() != nil {
					return
				}
				name := serviceName(i)
				err := create(ctx, func() error {
					_, err := cs.CoreV1().Services(benchNS).Create(ctx, syntheticService(name), metav1.CreateOptions{})
					return err
				})
				if err == nil {
					err = create(ctx, func() error {
						_, err := cs.DiscoveryV1().EndpointSlices(benchNS).Create(ctx,
							slice(name, syntheticAddrs(i, endpoints), true, "node-elsewhere"), metav1.CreateOptions{})
						return err
					})
				}
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("create %s: %w", name, err); cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	return fillResult{from: from, to: to, took: time.Since(start)}, firstErr
}

// create retries f a few times on errors that a busy server may return.
func create(ctx context.Context, f func() error) error {
	var err error
	for attempt := range 5 {
		err = f()
		if err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
		if !(apierrors.IsTooManyRequests(err) || apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsInternalError(err)) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
	return err
}
