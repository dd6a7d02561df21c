package main

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"strings"

	"github.com/svcnet/svcnet/bench/internal/upserver"
)

// server is one `svcnet up` process in its own process group and temp data dir
// (bench/internal/upserver), with the join tokens and the address this program
// needs of it.
type server struct{ *upserver.Server }

// startServer runs `svcnet up` on a free loopback port and returns once it
// serves the `kubernetes` Service. upserver passes --agent=false: the host must
// not become a node; the measured agent runs inside the node namespace.
func startServer(ctx context.Context, c *cleanups, binary string) (*server, error) {
	s, err := upserver.Start(ctx, upserver.Options{Binary: binary, DirPrefix: "sdp", UserAgent: "svcnet-bench-dataplane",
		// Only the controllers that do not write endpoints: the Services here have
		// no selector and their slices are written by this program, as a
		// controller elsewhere would write them.
		Args: []string{"--controllers", "namespace,garbagecollector"}})
	if err != nil {
		return nil, err
	}
	c.add(s.Cleanup)
	return &server{s}, nil
}

// apiAddr is the host:port the server listens on (from its kubeconfig).
func (s *server) apiAddr() (string, error) {
	cfg, err := s.RestConfig()
	if err != nil {
		return "", err
	}
	u, err := url.Parse(cfg.Host)
	if err != nil {
		return "", fmt.Errorf("server URL %q: %w", cfg.Host, err)
	}
	return u.Host, nil
}

// token creates a join token for the node.
func (s *server) token(node string) (string, error) {
	out, err := exec.Command(s.Binary, "token", "create", node, "--data-dir", s.DataDir()).Output()
	if err != nil {
		return "", fmt.Errorf("svcnet token create: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}
