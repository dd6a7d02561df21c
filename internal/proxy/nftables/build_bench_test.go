package nftables

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/svcnet/svcnet/internal/netnstest"
	"github.com/svcnet/svcnet/internal/proxy"
)

// syntheticSnapshot has n ClusterIP service ports with 10 endpoints each.
func syntheticSnapshot(n int) *proxy.Snapshot {
	snap := &proxy.Snapshot{}
	for i := range n {
		ip := netip.AddrFrom4([4]byte{10, 96 + byte(i>>16), byte(i >> 8), byte(i)})
		sp := port("bench", fmt.Sprintf("svc-%06d", i), "", corev1.ProtocolTCP, ip.String(), 80)
		for j := range 10 {
			sp.Endpoints = append(sp.Endpoints, ep(netip.AddrFrom4([4]byte{10, 128 + byte(j), byte(i >> 8), byte(i)}).String(), 8080, "node-b"))
		}
		snap.Ports = append(snap.Ports, sp)
	}
	return snap
}

// BenchmarkBuildAndDiff measures what a sync costs in user space before the
// kernel sees anything: building the ruleset and fingerprinting it, from scratch
// (a full sync after a restart) and after one endpoint changed (the agent's
// Builder reuses every other port's chains).
func BenchmarkBuildAndDiff(b *testing.B) {
	for _, n := range []int{1000, 10000, 30000} {
		snap := syntheticSnapshot(n)
		b.Run(fmt.Sprintf("scratch/services=%d", n), func(b *testing.B) {
			for b.Loop() {
				_ = newState(Build(snap, fixtureConfig()))
			}
		})
		b.Run(fmt.Sprintf("one-change/services=%d", n), func(b *testing.B) {
			bd := NewBuilder()
			rs := bd.Build(snap, fixtureConfig())
			st := newState(rs)
			i := 0
			for b.Loop() {
				sp := *snap.Ports[i%n]
				sp.Endpoints = append([]proxy.Endpoint(nil), sp.Endpoints...)
				sp.Endpoints[0].Ready = !sp.Endpoints[0].Ready
				snap.Ports[i%n] = &sp
				i++
				rs = bd.Build(snap, fixtureConfig())
				d := newDelta()
				d.diff(st, rs)
			}
		})
	}
}

// BenchmarkKernelSync measures a full sync into a fresh namespace, then an
// incremental sync after one endpoint change, made as the agent makes it: a
// Builder, and a new port value for the changed port only.
func BenchmarkKernelSync(b *testing.B) {
	for _, n := range []int{1000, 10000, 30000} {
		snap := syntheticSnapshot(n)
		b.Run(fmt.Sprintf("full/services=%d", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				ns := netnstest.New(b, "bench")
				p, err := NewProxier("svcnet", proxy.IPv4, ns.FD())
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := p.Sync(Build(snap, fixtureConfig()), true); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				p.Close()
				b.StartTimer()
			}
		})
		b.Run(fmt.Sprintf("one-endpoint/services=%d", n), func(b *testing.B) {
			ns := netnstest.New(b, "bench")
			p, err := NewProxier("svcnet", proxy.IPv4, ns.FD())
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			bd := NewBuilder()
			if _, err := p.Sync(bd.Build(snap, fixtureConfig()), true); err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				sp := *snap.Ports[i%n]
				sp.Endpoints = append([]proxy.Endpoint(nil), sp.Endpoints...)
				sp.Endpoints[0].Ready = !sp.Endpoints[0].Ready
				snap.Ports[i%n] = &sp
				i++
				if _, err := p.Sync(bd.Build(snap, fixtureConfig()), false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRetainedBytes measures what a node keeps per service port (10
// endpoints) between syncs: the Builder's groups and the proxier's state of the
// table, after a Build of 30,000 ports. The snapshot is the caller's and not
// counted.
func BenchmarkRetainedBytes(b *testing.B) {
	const n = 30000
	snap := syntheticSnapshot(n)
	var perPort float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		bd := NewBuilder()
		st := newState(bd.Build(snap, fixtureConfig()))
		runtime.GC()
		runtime.ReadMemStats(&after)
		perPort = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(bd)
		runtime.KeepAlive(st)
	}
	b.ReportMetric(perPort, "B/port-retained")
}
