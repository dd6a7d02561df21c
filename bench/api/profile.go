package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"k8s.io/client-go/rest"
)

// profile is a server CPU profile being taken through /debug/pprof/profile (the
// server's --profiling, on by default), for `go tool pprof`.
type profile struct {
	path string
	secs int
	done chan error
}

// startProfile starts a profile of secs seconds into path; an empty path takes none.
func startProfile(ctx context.Context, rc rest.Interface, path string, secs int) *profile {
	p := &profile{path: path, secs: secs, done: make(chan error, 1)}
	if path == "" {
		p.done <- nil
		return p
	}
	go func() {
		data, err := rc.Get().AbsPath("/debug/pprof/profile").Param("seconds", strconv.Itoa(secs)).DoRaw(ctx)
		if err != nil {
			p.done <- fmt.Errorf("server CPU profile: %w", err)
			return
		}
		p.done <- os.WriteFile(path, data, 0o644)
	}()
	return p
}

// wait waits for the profile, so that it covers no later phase, and says when it
// outlasted the phase it was meant for (then it holds idle time or the next phase).
func (p *profile) wait(phase time.Duration) error {
	err := <-p.done
	if err == nil && p.path != "" {
		if time.Duration(p.secs)*time.Second > phase {
			progress("warning: the %ds profile outlasted the %v phase; use more --services or fewer --cpuprofile-seconds", p.secs, phase.Round(time.Millisecond))
		}
		progress("wrote the server's CPU profile to %s", p.path)
	}
	return err
}
