package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"

	"github.com/svcnet/svcnet/internal/controller/clusterdns"
	"github.com/svcnet/svcnet/internal/controller/endpoints"
	"github.com/svcnet/svcnet/internal/controller/endpointslice"
	"github.com/svcnet/svcnet/internal/controller/garbagecollector"
	"github.com/svcnet/svcnet/internal/controller/mirroring"
	"github.com/svcnet/svcnet/internal/controller/namespace"
	"github.com/svcnet/svcnet/internal/controller/nodelifecycle"
	"github.com/svcnet/svcnet/internal/controller/podgc"
)

// controllerManagerLease is the Lease in kube-system that elects the one server whose
// controllers run.
const controllerManagerLease = "svcnet-controller-manager"

// ControllerConfig tunes the controller manager.
type ControllerConfig struct {
	// LeaseDuration, RenewDeadline and RetryPeriod are the leader election timings:
	// a dead leader's controllers move to another server within about LeaseDuration.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// MaxEndpointsPerSlice caps the endpoints of one EndpointSlice (default 100).
	MaxEndpointsPerSlice int
	// NodeGracePeriod is how long a node may go without a heartbeat (default 40s).
	NodeGracePeriod time.Duration
	// Controllers selects controllers as kube-controller-manager's --controllers:
	// "*" all, "name" enables one, "-name" disables one.
	Controllers []string
}

// controllerNames lists every controller the manager runs.
var controllerNames = []string{"namespace", "garbagecollector", "endpointslice", "endpoints", "endpointslicemirroring", "podgc", "nodelifecycle", "clusterdns"}

// enabled tells whether controller name is selected by list.
func enabled(list []string, name string) bool {
	on := false
	for _, item := range list {
		switch item {
		case "*":
			on = true
		case name:
			on = true
		case "-" + name:
			return false
		}
	}
	return on
}

// checkControllers refuses names that are no controller.
func checkControllers(list []string) error {
	for _, item := range list {
		n := strings.TrimPrefix(item, "-")
		if n != "*" && !slices.Contains(controllerNames, n) {
			return fmt.Errorf("--controllers: unknown controller %q (known: %s)", n, strings.Join(controllerNames, ", "))
		}
	}
	return nil
}

// runControllers runs the controllers on the elected server until ctx ends. It
// re-enters the election whenever leadership is lost.
func runControllers(ctx context.Context, base *rest.Config, cfg ControllerConfig, log *slog.Logger, reg prometheus.Registerer) error {
	restCfg := rest.CopyConfig(base)
	restCfg.UserAgent = "svcnet-controller-manager"
	restCfg.ContentType = "application/vnd.kubernetes.protobuf"
	restCfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	restCfg.QPS, restCfg.Burst = 500, 1000
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("controller client: %w", err)
	}
	host, _ := os.Hostname()
	identity := host + "_" + string(uuid.NewUUID())
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, metav1.NamespaceSystem, controllerManagerLease,
		client.CoreV1(), client.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: identity})
	if err != nil {
		return fmt.Errorf("leader election lock: %w", err)
	}
	// Metrics of controllers are registered once; a server that loses and regains
	// leadership builds its controllers again without registering twice.
	registered := false
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   cfg.LeaseDuration,
			RenewDeadline:   cfg.RenewDeadline,
			RetryPeriod:     cfg.RetryPeriod,
			ReleaseOnCancel: true,
			Name:            controllerManagerLease,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(lctx context.Context) {
					log.Info("leading: starting controllers", "identity", identity)
					var r prometheus.Registerer
					if !registered {
						r, registered = reg, true
					}
					if err := startControllers(lctx, restCfg, client, cfg, log, r); err != nil && lctx.Err() == nil {
						log.Error("controllers stopped", "err", err)
					}
				},
				OnStoppedLeading: func() { log.Info("stopped leading", "identity", identity) },
			},
		})
		if err != nil {
			return fmt.Errorf("leader election: %w", err)
		}
		le.Run(ctx)
	}
	return nil
}

// startControllers runs every controller until ctx ends.
func startControllers(ctx context.Context, restCfg *rest.Config, client kubernetes.Interface, cfg ControllerConfig, log *slog.Logger, reg prometheus.Registerer) error {
	dyn, err := dynamic.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("dynamic client: %w", err)
	}
	jsonCfg := rest.CopyConfig(restCfg)
	jsonCfg.ContentType, jsonCfg.AcceptContentTypes = "", ""
	meta, err := metadata.NewForConfig(jsonCfg)
	if err != nil {
		return fmt.Errorf("metadata client: %w", err)
	}
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	defer broadcaster.Shutdown()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	recorder := broadcaster.NewRecorder(clientgoscheme.Scheme, corev1.EventSource{Component: "svcnet-controller-manager"})
	factory := informers.NewSharedInformerFactory(client, 0)

	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery()))
	metaFactory := garbagecollector.NewFactory(meta)
	g, gctx := errgroup.WithContext(ctx)
	// Each constructor registers its informers; only enabled controllers are built,
	// so a disabled one costs no watch and no cache.
	build := map[string]func() func() error{
		"namespace": func() func() error {
			c := namespace.New(client, dyn, log.With("controller", "namespace"))
			return func() error { return c.Run(gctx) }
		},
		"garbagecollector": func() func() error {
			c := garbagecollector.New(meta, metaFactory, garbagecollector.Options{
				Log:        log.With("controller", "garbagecollector"),
				Registerer: reg,
				Mapper:     mapper,
				Dependents: []schema.GroupVersionResource{
					{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"},
					{Version: "v1", Resource: "endpoints"},
					{Version: "v1", Resource: "pods"},
				},
				Owners: []schema.GroupVersionResource{{Version: "v1", Resource: "services"}},
			})
			return func() error { return c.Run(gctx) }
		},
		"endpointslice": func() func() error {
			c := endpointslice.New(client, factory, endpointslice.Options{Log: log.With("controller", "endpointslice"), Registerer: reg, Recorder: recorder, MaxEndpointsPerSlice: cfg.MaxEndpointsPerSlice})
			return func() error { return c.Run(gctx, 5) }
		},
		"endpoints": func() func() error {
			c := endpoints.New(client, factory, endpoints.Options{Log: log.With("controller", "endpoints"), Registerer: reg, Recorder: recorder})
			return func() error { return c.Run(gctx, 5) }
		},
		"endpointslicemirroring": func() func() error {
			c := mirroring.New(client, factory, mirroring.Options{Log: log.With("controller", "endpointslicemirroring"), Registerer: reg, Recorder: recorder})
			return func() error { return c.Run(gctx, 5) }
		},
		"nodelifecycle": func() func() error {
			c := nodelifecycle.New(client, factory, nodelifecycle.Options{Log: log.With("controller", "nodelifecycle"), GracePeriod: cfg.NodeGracePeriod})
			return func() error { return c.Run(gctx) }
		},
		"clusterdns": func() func() error {
			c := clusterdns.New(client, factory, log.With("controller", "clusterdns"))
			return func() error { return c.Run(gctx) }
		},
		"podgc": func() func() error {
			c := podgc.New(client, factory, podgc.Options{Log: log.With("controller", "podgc"), Registerer: reg})
			return func() error { return c.Run(gctx, 1) }
		},
	}
	for _, name := range controllerNames {
		if !enabled(cfg.Controllers, name) {
			log.Info("controller disabled", "controller", name)
			continue
		}
		g.Go(build[name]())
	}
	factory.Start(gctx.Done())
	metaFactory.Start(gctx.Done())
	err = g.Wait()
	factory.Shutdown()
	metaFactory.Shutdown()
	return err
}
