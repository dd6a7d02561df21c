package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/svcnet/svcnet/internal/proxy"
)

// serviceHealth runs one HTTP server per healthCheckNodePort of the
// externalTrafficPolicy Local Services, as kube-proxy does, so that a load
// balancer sends traffic only to nodes with a local endpoint: 200 when the
// node has one (and its data plane is healthy), 503 otherwise.
type serviceHealth struct {
	log     *slog.Logger
	healthy func() bool

	mu      sync.Mutex
	servers map[int32]*healthServer
}

type healthServer struct {
	srv *http.Server
	mu  sync.Mutex
	st  healthState
}

// healthState is what one health check port reports.
type healthState struct {
	namespace, name string
	local           int
}

func newServiceHealth(log *slog.Logger, healthy func() bool) *serviceHealth {
	return &serviceHealth{log: log, healthy: healthy, servers: map[int32]*healthServer{}}
}

// healthStates derives, from a snapshot, what each health check port reports:
// the most local usable endpoints over the Service's ports.
func healthStates(snap *proxy.Snapshot, node string) map[int32]healthState {
	out := map[int32]healthState{}
	for _, sp := range snap.Ports {
		if sp.HealthCheckNodePort == 0 || !sp.ExternalLocal {
			continue
		}
		st := out[sp.HealthCheckNodePort]
		st.namespace, st.name = sp.Name.Namespace, sp.Name.Name
		st.local = max(st.local, len(sp.LocalEndpoints(node)))
		out[sp.HealthCheckNodePort] = st
	}
	return out
}

// update opens servers for new ports, closes those of ports gone, and sets
// what every server reports.
func (h *serviceHealth) update(states map[int32]healthState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for port, s := range h.servers {
		if _, ok := states[port]; !ok {
			_ = s.srv.Close()
			delete(h.servers, port)
			h.log.Info("closed service health check port", "port", port)
		}
	}
	for port, st := range states {
		s, ok := h.servers[port]
		if !ok {
			var err error
			if s, err = h.open(port); err != nil {
				h.log.Error("open service health check port", "port", port, "service", st.namespace+"/"+st.name, "err", err)
				continue
			}
			h.servers[port] = s
		}
		s.mu.Lock()
		s.st = st
		s.mu.Unlock()
	}
}

func (h *serviceHealth) open(port int32) (*healthServer, error) {
	l, err := net.Listen("tcp", ":"+strconv.Itoa(int(port)))
	if err != nil {
		return nil, fmt.Errorf("listen on health check port %d: %w", port, err)
	}
	s := &healthServer{}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		st := s.st
		s.mu.Unlock()
		h.answer(w, st)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := s.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("serve health check port", "port", port, "err", err)
		}
	}()
	h.log.Info("opened service health check port", "port", port)
	return s, nil
}

// answer writes kube-proxy's response.
func (h *serviceHealth) answer(w http.ResponseWriter, st healthState) {
	healthy := h.healthy()
	body := struct {
		Service struct {
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"service"`
		LocalEndpoints      int  `json:"localEndpoints"`
		ServiceProxyHealthy bool `json:"serviceProxyHealthy"`
	}{LocalEndpoints: st.local, ServiceProxyHealthy: healthy}
	body.Service.Namespace, body.Service.Name = st.namespace, st.name
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Load-Balancing-Endpoint-Weight", strconv.Itoa(st.local))
	if st.local == 0 || !healthy {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(body)
}

// close shuts every server down.
func (h *serviceHealth) close(ctx context.Context) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for port, s := range h.servers {
		_ = s.srv.Shutdown(ctx)
		delete(h.servers, port)
	}
}
