package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// probeReq asks the prober to connect until the ClusterIP shows state want
// (true: a connect succeeds; false: it is refused) or deadline passes.
type probeReq struct {
	want     bool
	deadline time.Time
	reply    chan probeResult
}

type probeResult struct {
	at       time.Time // first connect that showed the wanted state returned
	attempts int
	ok       bool
	lastErr  error
}

// prober connects from one goroutine locked inside the client namespace, so that
// no thread is created or switched per connect.
type prober struct {
	reqs chan probeReq
	stop chan struct{}
}

func startProber(client *ns, addr string, poll time.Duration) (*prober, error) {
	p := &prober{reqs: make(chan probeReq), stop: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		// do() runs this on a locked thread in the namespace; it returns only
		// when the prober stops.
		_ = client.do(func() error {
			ready <- nil
			d := net.Dialer{Timeout: 500 * time.Millisecond}
			for {
				select {
				case <-p.stop:
					return nil
				case r := <-p.reqs:
					r.reply <- probeLoop(d, addr, poll, r)
				}
			}
		})
	}()
	select {
	case err := <-ready:
		return p, err
	case <-time.After(5 * time.Second):
		return nil, errors.New("prober did not start")
	}
}

func probeLoop(d net.Dialer, addr string, poll time.Duration, r probeReq) probeResult {
	res := probeResult{}
	for time.Now().Before(r.deadline) {
		res.attempts++
		c, err := d.Dial("tcp4", addr)
		now := time.Now()
		var live, known bool
		switch {
		case err == nil:
			c.Close()
			live, known = true, true
		case errors.Is(err, syscall.ECONNREFUSED):
			live, known = false, true
		default:
			res.lastErr = err
		}
		if known && live == r.want {
			res.at, res.ok = now, true
			return res
		}
		time.Sleep(poll)
	}
	return res
}

// ask blocks until the probe shows want or timeout passes.
func (p *prober) ask(want bool, timeout time.Duration) probeResult {
	r := probeReq{want: want, deadline: time.Now().Add(timeout), reply: make(chan probeResult, 1)}
	p.reqs <- r
	return <-r.reply
}

// start begins probing and returns the channel of its result.
func (p *prober) start(want bool, timeout time.Duration) <-chan probeResult {
	r := probeReq{want: want, deadline: time.Now().Add(timeout), reply: make(chan probeResult, 1)}
	p.reqs <- r
	return r.reply
}

func (p *prober) close() { close(p.stop) }

// flip is one timed readiness change of the probe endpoint.
type flip struct {
	ready    bool
	start    time.Time
	api      time.Duration // the update call
	latency  time.Duration // start of the update call to the first connect in the new state
	attempts int
	missed   bool
}

// probeService holds the probe Service's slice as last written.
type probeService struct {
	cs  kubernetes.Interface
	cur *discoveryv1.EndpointSlice
	vip string
}

const probeName = "probe"

// createProbe creates the probe Service and its slice (endpoint not ready).
func createProbe(ctx context.Context, cs kubernetes.Interface) (*probeService, error) {
	svc, err := cs.CoreV1().Services(benchNS).Create(ctx, syntheticService(probeName), metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create probe Service: %w", err)
	}
	sl, err := cs.DiscoveryV1().EndpointSlices(benchNS).Create(ctx, slice(probeName, []string{backendIP}, false, nodeName), metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create probe slice: %w", err)
	}
	return &probeService{cs: cs, cur: sl, vip: net.JoinHostPort(svc.Spec.ClusterIP, "80")}, nil
}

// set writes the endpoint's readiness, from the last written object (no read).
func (p *probeService) set(ctx context.Context, ready bool) error {
	for range 3 {
		next := p.cur.DeepCopy()
		next.Endpoints[0].Conditions = discoveryv1.EndpointConditions{Ready: ptr.To(ready), Serving: ptr.To(ready), Terminating: ptr.To(false)}
		out, err := p.cs.DiscoveryV1().EndpointSlices(benchNS).Update(ctx, next, metav1.UpdateOptions{})
		if err == nil {
			p.cur = out
			return nil
		}
		if !apierrors.IsConflict(err) {
			return err
		}
		if p.cur, err = p.cs.DiscoveryV1().EndpointSlices(benchNS).Get(ctx, probeName+"-1", metav1.GetOptions{}); err != nil {
			return err
		}
	}
	return errors.New("update probe slice: conflicts")
}

// runFlips flips the probe n times, starting from not ready (so it ends not
// ready when n is even).
func runFlips(ctx context.Context, p *probeService, pr *prober, cfg config) ([]flip, error) {
	out := make([]flip, 0, cfg.flips)
	budget := time.Now().Add(cfg.flipBudget)
	for k := range cfg.flips {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		if k >= 10 && k%2 == 0 && time.Now().After(budget) {
			break
		}
		ready := k%2 == 0
		f := flip{ready: ready, start: time.Now()}
		res := pr.start(ready, cfg.flipTimeout)
		err := p.set(ctx, ready)
		f.api = time.Since(f.start)
		r := <-res
		if err != nil {
			return out, fmt.Errorf("flip %d: %w", k, err)
		}
		f.attempts = r.attempts
		if r.ok {
			f.latency = r.at.Sub(f.start)
		} else {
			f.missed = true
			f.latency = cfg.flipTimeout
			// Bring the state back in line before the next flip; if it does
			// not come, the stage's flips end here (the report shows the miss).
			if r2 := pr.ask(ready, cfg.flipTimeout); !r2.ok {
				logf("flip %d (ready=%v) not live after %v; ending this stage's flips", k, ready, 2*cfg.flipTimeout)
				return append(out, f), nil
			}
		}
		out = append(out, f)
		time.Sleep(cfg.pause + rand.N(cfg.pause/2+1))
	}
	return out, nil
}
