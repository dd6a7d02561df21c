package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// maxErrors stops a phase early: past this many failures its numbers mean nothing.
const maxErrors = 100

// runParallel calls op for i in [0, n) from workers goroutines, each taking the next
// index, and times every call and the whole batch.
func runParallel(ctx context.Context, name string, n, workers int, meter cpuMeter, op func(ctx context.Context, i int) error) phase {
	lat := make([]time.Duration, n)
	var next, errs atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	c0 := meter.now()
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil || errs.Load() >= maxErrors {
					return
				}
				t := time.Now()
				err := op(ctx, i)
				lat[i] = time.Since(t)
				if err != nil {
					if errs.Add(1) == 1 {
						mu.Lock()
						firstErr = err
						mu.Unlock()
					}
				}
			}
		}()
	}
	wg.Wait()
	p := phase{name: name, ops: n, wall: time.Since(start), cpu: meter.since(c0), errs: int(errs.Load()), firstErr: firstErr}
	if ctx.Err() != nil && p.firstErr == nil {
		p.firstErr = ctx.Err()
	}
	slices.Sort(lat)
	p.lat = lat
	return p
}

// benchService is a small, typical ClusterIP Service: labels, a selector and one port.
func benchService(name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name:   name,
			Labels: map[string]string{"app": name, "tier": "backend", "bench": "svcnet"},
		},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{
				Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080),
			}},
		},
	}
}

func serviceName(i int) string { return fmt.Sprintf("svc-%05d", i) }

// createServices returns an op creating Service i in ns.
func createServices(cs kubernetes.Interface, ns string) func(context.Context, int) error {
	return func(ctx context.Context, i int) error {
		_, err := cs.CoreV1().Services(ns).Create(ctx, benchService(serviceName(i)), metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create service %s/%s: %w", ns, serviceName(i), err)
		}
		return nil
	}
}

// putKeys returns an op putting value at prefix+i.
func putKeys(cli *clientv3.Client, prefix string, value []byte) func(context.Context, int) error {
	v := string(value)
	return func(ctx context.Context, i int) error {
		if _, err := cli.Put(ctx, prefix+serviceName(i), v); err != nil {
			return fmt.Errorf("etcd put: %w", err)
		}
		return nil
	}
}

// txnKeys returns an op writing key i the way svcnet writes a Service: one
// transaction that checks the object is absent and puts it plus a small allocation
// record.
func txnKeys(cli *clientv3.Client, prefix string, value []byte) func(context.Context, int) error {
	v := string(value)
	return func(ctx context.Context, i int) error {
		key := prefix + "obj/" + serviceName(i)
		alloc := fmt.Sprintf("%salloc/10.%d.%d.%d", prefix, 96+i>>16&15, i>>8&255, i&255)
		resp, err := cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0), clientv3.Compare(clientv3.CreateRevision(alloc), "=", 0)).
			Then(clientv3.OpPut(key, v), clientv3.OpPut(alloc, key)).
			Commit()
		if err != nil {
			return fmt.Errorf("etcd txn: %w", err)
		}
		if !resp.Succeeded {
			return fmt.Errorf("etcd txn on %s: precondition failed", key)
		}
		return nil
	}
}
