package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// etcdCheckTimeout bounds the etcd health check, as kube-apiserver's
// --etcd-healthcheck-timeout (2 s) does: without quorum a read would wait.
const etcdCheckTimeout = 2 * time.Second

// healthCheck is one named check of /livez and /readyz.
type healthCheck struct {
	name  string
	check func(ctx context.Context) error
}

// livezChecks are kube-apiserver's liveness checks that apply here: the server
// answers, and its etcd does.
func (s *Server) livezChecks() []healthCheck {
	return []healthCheck{
		{name: "ping", check: func(context.Context) error { return nil }},
		{name: "etcd", check: s.etcdHealthy},
	}
}

// readyzChecks add readiness: the start-up work (the allocation records) is done.
func (s *Server) readyzChecks() []healthCheck {
	checks := s.livezChecks()
	if s.cfg.Ready != nil {
		checks = append(checks, healthCheck{name: "poststarthook/svcnet-bootstrap", check: func(context.Context) error { return s.cfg.Ready() }})
	}
	return checks
}

func (s *Server) etcdHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, etcdCheckTimeout)
	defer cancel()
	if _, err := s.store.Revision(ctx); err != nil {
		return fmt.Errorf("read etcd revision: %w", err)
	}
	return nil
}

// serveHealth answers /NAME, /NAME?verbose, /NAME?exclude=CHECK and /NAME/CHECK
// as kube-apiserver does: "ok" (or, verbose, a line per check and "NAME check
// passed"); on a failure 500 with a line per check, the failed ones with their
// reason withheld (it is logged), and "NAME check failed".
func (s *Server) serveHealth(name string, checks func() []healthCheck) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		all := checks()
		if one, ok := strings.CutPrefix(r.URL.Path, "/"+name+"/"); ok {
			i := slices.IndexFunc(all, func(c healthCheck) bool { return c.name == one })
			if i < 0 {
				http.NotFound(w, r)
				return
			}
			if err := all[i].check(r.Context()); err != nil {
				http.Error(w, fmt.Sprintf("internal server error: %v", err), http.StatusInternalServerError)
				return
			}
			_, _ = w.Write([]byte("ok"))
			return
		}
		q := r.URL.Query()
		excluded := q["exclude"]
		var out strings.Builder
		failed := false
		for _, c := range all {
			if slices.Contains(excluded, c.name) {
				fmt.Fprintf(&out, "[+]%s excluded: ok\n", c.name)
				continue
			}
			if err := c.check(r.Context()); err != nil {
				failed = true
				s.log.Warn("health check failed", "endpoint", name, "check", c.name, "err", err)
				fmt.Fprintf(&out, "[-]%s failed: reason withheld\n", c.name)
				continue
			}
			fmt.Fprintf(&out, "[+]%s ok\n", c.name)
		}
		if failed {
			http.Error(w, fmt.Sprintf("%s%s check failed", out.String(), name), http.StatusInternalServerError)
			return
		}
		if _, verbose := q["verbose"]; !verbose {
			_, _ = w.Write([]byte("ok"))
			return
		}
		fmt.Fprintf(&out, "%s check passed\n", name)
		_, _ = w.Write([]byte(out.String()))
	}
}
