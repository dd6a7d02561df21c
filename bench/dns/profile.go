package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// profileCPU takes a CPU profile of svcnet's DNS while dnsperf sends it A
// queries, and returns the top of `go tool pprof -top`.
func profileCPU(ctx context.Context, cfg config, s *dnsServer, file, dir, binary string) (string, error) {
	secs := int(cfg.profile.Round(time.Second).Seconds())
	pcfg := cfg
	pcfg.duration = cfg.profile + 2*time.Second
	errc := make(chan error, 1)
	go func() {
		_, err := runDnsperf(ctx, pcfg, s, "a", file, filepath.Join(dir, "dnsperf-profile.out"))
		errc <- err
	}()
	time.Sleep(time.Second)
	path := filepath.Join(dir, "svcnet-dns-cpu.pprof")
	err := fetch(ctx, fmt.Sprintf("%s/profile?seconds=%d", s.pprofURL, secs), path)
	if derr := <-errc; err == nil {
		err = derr
	}
	if err != nil {
		return "", err
	}
	keep(path, "BENCH_DNS_CPU_PROFILE")
	return pprofTop(binary, path)
}

// profileHeap takes a heap profile of svcnet's agent (after a GC) and returns
// the top of its in-use space.
func profileHeap(ctx context.Context, s *dnsServer, dir, binary string) (string, error) {
	path := filepath.Join(dir, "svcnet-dns-heap.pprof")
	if err := fetch(ctx, s.pprofURL+"/heap?gc=1", path); err != nil {
		return "", err
	}
	keep(path, "BENCH_DNS_HEAP_PROFILE")
	return pprofTop(binary, path, "-sample_index=inuse_space")
}

func fetch(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// keep copies a profile to the file named by environment variable env, if set.
func keep(path, env string) {
	if to := os.Getenv(env); to != "" {
		if b, err := os.ReadFile(path); err == nil {
			_ = os.WriteFile(to, b, 0o644)
		}
	}
}

func pprofTop(binary, path string, args ...string) (string, error) {
	args = append(append([]string{"tool", "pprof", "-top", "-nodecount=25"}, args...), binary, path)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go tool pprof: %w: %s", err, out)
	}
	return string(out), nil
}
