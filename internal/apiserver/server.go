package apiserver

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/applyconfigurations"

	"github.com/svcnet/svcnet/internal/storage"
)

// Authenticator identifies the caller of a request; ok is false for anonymous or
// invalid credentials.
type Authenticator interface {
	Authenticate(r *http.Request) (user string, ok bool)
}

// OpenAPI serves the schema documents.
type OpenAPI interface {
	V3Root() []byte
	V3Doc(gvPath string) ([]byte, bool)
	V2JSON() []byte
	V2Proto() []byte
}

// Config holds everything a Server needs; the zero value of each optional field
// says what happens without it.
type Config struct {
	Store     *storage.Store
	Resources []*Resource
	// Authenticator guards every path but /livez, /readyz, /healthz and /version;
	// nil allows everyone (tests only).
	Authenticator Authenticator
	// OpenAPI serves /openapi/v2 and /openapi/v3; nil answers 404 there.
	OpenAPI OpenAPI
	// Registerer receives the request metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Gatherer serves /metrics; nil answers 404 there.
	Gatherer prometheus.Gatherer
	Log      *slog.Logger
	// Version is what /version reports.
	Version version.Info
	// MaxBodyBytes caps request bodies (default 3 MiB, as kube-apiserver).
	MaxBodyBytes int64
	// BookmarkInterval is how often watches get a bookmark (default 1 minute).
	BookmarkInterval time.Duration
	// Ready reports extra readiness (e.g. start-up work done); nil means ready.
	Ready func() error
	// Profiling serves Go's pprof handlers under /debug/pprof/ (authenticated), as
	// kube-apiserver's --profiling does.
	Profiling bool
}

// Server is the HTTP API. It is safe for concurrent use.
type Server struct {
	cfg       Config
	store     *storage.Store
	log       *slog.Logger
	codecs    *codecs
	byPath    map[string]map[string]*Resource // "api/v1" or "apis/g/v" -> resource name -> resource
	managers  map[string]*managedfields.FieldManager
	creates   map[string]*createFields // managed fields of creates, by resource name
	metrics   *metrics
	nsCache   *namespaceCache
	stacks    *stackPool
	startedAt time.Time
	// nextGenerate counts generateName suffix attempts, to vary them.
	nextGenerate atomic.Uint64
}

// New builds a Server; it starts no goroutines (Run does).
func New(cfg Config) (*Server, error) {
	c, err := newCodecs()
	if err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 3 << 20
	}
	if cfg.BookmarkInterval == 0 {
		cfg.BookmarkInterval = time.Minute
	}
	s := &Server{
		cfg:       cfg,
		store:     cfg.Store,
		log:       cfg.Log,
		codecs:    c,
		byPath:    map[string]map[string]*Resource{},
		managers:  map[string]*managedfields.FieldManager{},
		creates:   map[string]*createFields{},
		metrics:   newMetrics(cfg.Registerer),
		startedAt: time.Now(),
	}
	s.nsCache = newNamespaceCache(s)
	s.stacks = newStackPool()
	tc := applyconfigurations.NewTypeConverter(c.scheme)
	for _, res := range cfg.Resources {
		p := res.groupPath()
		if s.byPath[p] == nil {
			s.byPath[p] = map[string]*Resource{}
		}
		s.byPath[p][res.Resource] = res
		for _, sub := range append([]string{""}, res.Subresources...) {
			fm, err := managedfields.NewDefaultFieldManager(tc, c.scheme, c.scheme, c.scheme, res.GVK(), res.GroupVersion(), sub, resetFields(res, sub))
			if err != nil {
				return nil, fmt.Errorf("field manager for %s: %w", res.Resource, err)
			}
			s.managers[res.Resource+"/"+sub] = fm
			if sub == "" {
				if s.creates[res.Resource], err = newCreateFields(tc, fm, res); err != nil {
					return nil, err
				}
			}
		}
	}
	return s, nil
}

func (r *Resource) groupPath() string {
	if r.Group == "" {
		return "api/" + r.Version
	}
	return "apis/" + r.Group + "/" + r.Version
}

// Run keeps the server's caches current until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	go s.stacks.run(ctx)
	return s.nsCache.run(ctx)
}

// Handler returns the HTTP handler serving the whole API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, h := range []struct {
		name   string
		checks func() []healthCheck
	}{{"livez", s.livezChecks}, {"healthz", s.livezChecks}, {"readyz", s.readyzChecks}} {
		mux.HandleFunc("/"+h.name, s.serveHealth(h.name, h.checks))
		mux.HandleFunc("/"+h.name+"/", s.serveHealth(h.name, h.checks))
	}
	mux.HandleFunc("/version", s.serveVersion)
	mux.HandleFunc("/metrics", s.serveMetrics)
	mux.HandleFunc("/openapi/", s.serveOpenAPI)
	if s.cfg.Profiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("/api", s.serveDiscovery)
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/apis", s.serveDiscovery)
	mux.HandleFunc("/apis/", s.serveAPI)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, notFoundPath(r.URL.Path))
	})
	return s.authenticate(mux)
}

func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/livez", "/readyz", "/healthz", "/version":
			next.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/livez/") || strings.HasPrefix(r.URL.Path, "/readyz/") || strings.HasPrefix(r.URL.Path, "/healthz/") {
			next.ServeHTTP(w, r)
			return
		}
		if s.cfg.Authenticator != nil {
			if _, ok := s.cfg.Authenticator.Authenticate(r); !ok {
				s.metrics.observe("", "", http.StatusUnauthorized, 0)
				s.writeError(w, r, errUnauthorized)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// writeObject encodes obj with the serializer and writes it with status code.
func (s *Server) writeObject(w http.ResponseWriter, code int, info runtime.SerializerInfo, obj runtime.Object) {
	w.Header().Set("Content-Type", info.MediaType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	if err := info.Serializer.Encode(obj, w); err != nil {
		s.log.Debug("write response", "err", err)
	}
}
