package main

import (
	"context"
	"path/filepath"

	"k8s.io/client-go/rest"

	"github.com/svcnet/svcnet/bench/internal/upserver"
)

// server is one `svcnet up` process in its own process group and temp data dir
// (bench/internal/upserver).
type server struct{ *upserver.Server }

// startServer runs `svcnet up` on a free loopback port and returns once it serves
// the `kubernetes` Service (bootstrap done) or fails after 60s. Compaction is off
// (upserver turns it off) so that it cannot land inside one timed phase and not
// the other; there is no node agent (upserver passes --agent=false), so the host's
// nftables are left alone.
func startServer(ctx context.Context, binary string) (*server, error) {
	s, err := upserver.Start(ctx, upserver.Options{Binary: binary, DirPrefix: "svb", UserAgent: "svcnet-bench",
		// The API server alone is measured, as kube-apiserver is without
		// kube-controller-manager: the endpoint controllers would add their own
		// writes (an Endpoints object and a slice per Service) to every create.
		Args: []string{"--controllers", "namespace,garbagecollector"}})
	if err != nil {
		return nil, err
	}
	return &server{s}, nil
}

func (s *server) pid() int           { return s.Pid() }
func (s *server) kubeconfig() string { return s.Kubeconfig() }
func (s *server) etcdEndpoint() string {
	return "unix://" + filepath.Join(s.DataDir(), "etcd", "client.sock")
}
func (s *server) logTail() string { return s.LogTail() }

// restConfig is the admin's without client-side rate limit. This benchmark
// speaks JSON, as kubectl does.
func (s *server) restConfig() (*rest.Config, error) {
	cfg, err := s.RestConfig()
	if err != nil {
		return nil, err
	}
	cfg.ContentType, cfg.AcceptContentTypes = "", ""
	return cfg, nil
}

// stop ends the whole process group (SIGTERM, then SIGKILL after 15s) and removes
// the data dir.
func (s *server) stop() { s.Cleanup() }
