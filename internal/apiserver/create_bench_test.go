package apiserver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/svcnet/svcnet/internal/allocator"
	"github.com/svcnet/svcnet/internal/registry/allocation"
	"github.com/svcnet/svcnet/internal/storage"
)

// allocatingServices is the Service strategy with the allocation hooks, as the
// server wires it.
type allocatingServices struct {
	Typed[*corev1.Service]
	*allocation.Allocations
}

// BenchmarkCreateService runs bench/api's parallel create phase inside one process:
// protobuf Service creates through the handler (no TLS, HTTP/2 or client), with
// ClusterIP allocation, on an embedded etcd. cpu-µs/op is the process's CPU time
// (handler and etcd) per create, the figure a loaded machine does not distort.
func BenchmarkCreateService(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	emb, err := storage.StartEmbedded(ctx, b.TempDir(), log)
	if err != nil {
		b.Fatal(err)
	}
	defer emb.Close()
	store := storage.New(emb.Client())
	ips, _ := allocator.ParseIPRanges("10.96.0.0/12")
	ports, _ := allocator.ParsePortRange("30000-32767")
	alloc := allocation.New(store, ips, ports, log)
	go func() { _ = alloc.Run(ctx) }()
	resources := testResources()
	for _, r := range resources {
		if r.Resource == "services" {
			r.Strategy = allocatingServices{r.Strategy.(Typed[*corev1.Service]), alloc}
		}
	}
	srv, err := New(Config{Store: store, Resources: resources, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Run(ctx) }()
	h := srv.Handler()
	// Each request runs on a fresh goroutine, as HTTP/2 serves each stream.
	post := func(path, ct string, body []byte) int {
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Accept", ct)
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.ServeHTTP(rec, req)
		}()
		<-done
		return rec.Code
	}
	if code := post("/api/v1/namespaces", "application/json", []byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"bench"}}`)); code != http.StatusCreated {
		b.Fatalf("create namespace: %d", code)
	}
	for alloc.Ready() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	info, _ := srv.codecs.info(runtime.ContentTypeProtobuf)
	body := func(i int64) []byte {
		svc := &corev1.Service{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%d", i), Labels: map[string]string{"app": "bench", "tier": "backend"}},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "bench"},
				Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}},
		}
		var buf bytes.Buffer
		if err := info.Serializer.Encode(svc, &buf); err != nil {
			b.Fatal(err)
		}
		return buf.Bytes()
	}
	var next atomic.Int64
	var failed atomic.Int64
	cpu0 := cpuTime()
	b.ResetTimer()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if code := post("/api/v1/namespaces/bench/services", runtime.ContentTypeProtobuf, body(next.Add(1))); code != http.StatusCreated {
				failed.Add(1)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d creates failed", n)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
