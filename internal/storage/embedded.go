package storage

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
)

// Embedded is a single-member etcd running inside this process.
type Embedded struct {
	etcd   *embed.Etcd
	client *clientv3.Client
}

// StartEmbedded starts (or restarts, reusing its data) a single-member etcd whose data
// lives in dir. It listens only on unix sockets inside dir; the returned client talks
// to it in-process. It returns once etcd is ready to serve or ctx ends.
func StartEmbedded(ctx context.Context, dir string, log *slog.Logger) (*Embedded, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create etcd dir: %w", err)
	}
	cfg := embed.NewConfig()
	cfg.Name = "svcnet"
	cfg.Dir = dir
	// etcd logs routine shutdown as errors; its real failures reach us through Err.
	cfg.LogLevel = "fatal"
	if log.Enabled(ctx, slog.LevelDebug) {
		cfg.LogLevel = "info"
	}
	// Unix sockets keep the embedded member unreachable from the network and free of
	// port clashes; a relative-looking path keeps the socket name under the 108-byte limit.
	peer, err := url.Parse("unix://" + filepath.Join(dir, "peer.sock"))
	if err != nil {
		return nil, fmt.Errorf("etcd peer url: %w", err)
	}
	client, err := url.Parse("unix://" + filepath.Join(dir, "client.sock"))
	if err != nil {
		return nil, fmt.Errorf("etcd client url: %w", err)
	}
	for _, s := range []string{"peer.sock", "client.sock"} {
		_ = os.Remove(filepath.Join(dir, s))
	}
	cfg.ListenPeerUrls = []url.URL{*peer}
	cfg.AdvertisePeerUrls = []url.URL{*peer}
	cfg.ListenClientUrls = []url.URL{*client}
	cfg.AdvertiseClientUrls = []url.URL{*client}
	cfg.InitialCluster = cfg.Name + "=" + peer.String()
	cfg.ListenMetricsUrls = nil
	cfg.QuotaBackendBytes = 8 << 30
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd in %s: %w", dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd failed: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("embedded etcd in %s not ready after 60s", dir)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	return &Embedded{etcd: e, client: v3client.New(e.Server)}, nil
}

// Client returns an in-process client for the embedded member.
func (e *Embedded) Client() *clientv3.Client { return e.client }

// Err reports a fatal error of the running member.
func (e *Embedded) Err() <-chan error { return e.etcd.Err() }

// Close stops the member and releases its data directory.
func (e *Embedded) Close() {
	_ = e.client.Close()
	e.etcd.Close()
}

// Dial connects to an external etcd cluster.
func Dial(ctx context.Context, endpoints []string) (*clientv3.Client, error) {
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 10 * time.Second,
		Context:     ctx,
	})
	if err != nil {
		return nil, fmt.Errorf("connect to etcd %v: %w", endpoints, err)
	}
	return c, nil
}
