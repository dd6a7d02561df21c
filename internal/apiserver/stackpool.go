package apiserver

import (
	"context"
	"runtime"
	"sync/atomic"
)

// stackPool runs deep, recursive work (structured-merge-diff's field tracking) on a
// few long-lived goroutines. Each HTTP/2 request runs on a fresh goroutine whose
// small stack would otherwise be grown and copied by that recursion on every write:
// about a quarter of the field manager's cost in bench/api creates.
type stackPool struct {
	jobs    chan func()
	running atomic.Bool
}

func newStackPool() *stackPool { return &stackPool{jobs: make(chan func())} }

// run serves jobs on GOMAXPROCS goroutines until ctx ends.
func (p *stackPool) run(ctx context.Context) {
	n := runtime.GOMAXPROCS(0)
	p.running.Store(true)
	defer p.running.Store(false)
	done := make(chan struct{})
	for range n {
		go func() {
			for {
				select {
				case f := <-p.jobs:
					f()
				case <-done:
					return
				}
			}
		}()
	}
	<-ctx.Done()
	close(done)
}

// do runs f on a pool goroutine and waits for it; before run starts (or after it
// ends) it runs f inline.
func (p *stackPool) do(ctx context.Context, f func()) {
	if !p.running.Load() {
		f()
		return
	}
	finished := make(chan struct{})
	job := func() { f(); close(finished) }
	select {
	case p.jobs <- job:
		<-finished
	case <-ctx.Done():
		f()
	}
}

// growStack grows the calling goroutine's stack to 16 KiB at once, while it is
// still shallow. A write handler runs on a fresh HTTP/2 goroutine (2 KiB of stack)
// and goes deep: strategies, then etcd's server in process, whose protobuf
// marshalling recurses. Grown a doubling at a time, its stack was copied three
// times per request, each copy walking every frame: 9% of the CPU of
// BenchmarkCreateService. One early growth copies a few frames once (1%). 16 KiB
// is what a create needs; a bigger stack would come from the heap instead of the
// per-P stack cache, and cost more than it saves.
//
//go:noinline
func growStack(i int) byte {
	var buf [14 << 10]byte
	buf[uint(i)%uint(len(buf))] = byte(i)
	return buf[uint(i*7)%uint(len(buf))]
}
