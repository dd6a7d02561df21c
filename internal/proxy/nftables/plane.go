package nftables

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/svcnet/svcnet/internal/proxy"
	"github.com/svcnet/svcnet/internal/proxy/conntrack"
)

// conntrackDeleter deletes the UDP conntrack entries translated to endpoints,
// and those that went untranslated to service addresses.
type conntrackDeleter interface {
	Delete(eps []netip.AddrPort) (int, error)
	DeleteUntranslated(family proxy.Family, addrs []netip.AddrPort, nodePorts []uint16) (int, error)
}

// Plane is the agent's kernel data plane: for each snapshot it builds the
// ruleset, syncs it in one transaction, then deletes the conntrack entries of
// UDP endpoints that went away and of UDP packets that went untranslated to
// service addresses that now translate.
type Plane struct {
	proxier   *Proxier
	builder   *Builder
	cfg       Config
	nodePorts func() ([]netip.Addr, error)
	conntrack conntrackDeleter
	log       *slog.Logger

	mu   sync.Mutex
	last *proxy.Snapshot
}

// NewPlane wraps proxier. nodePorts, when not nil, is asked at every sync for
// the addresses that accept node ports (cfg.NodePortAddresses is ignored).
func NewPlane(proxier *Proxier, cfg Config, nodePorts func() ([]netip.Addr, error), log *slog.Logger) *Plane {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Plane{proxier: proxier, builder: NewBuilder(), cfg: cfg, nodePorts: nodePorts, conntrack: conntrack.Cleaner{}, log: log}
}

// Unchanged reports whether the table is, for sure, what the last sync left
// (see [Proxier.Unchanged]): a full sync would then repair nothing.
func (p *Plane) Unchanged() bool { return p.proxier.Unchanged() }

// Sync programs snap; see [Proxier.Sync] for full.
func (p *Plane) Sync(_ context.Context, snap *proxy.Snapshot, full bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cfg := p.cfg
	if p.nodePorts != nil {
		addrs, err := p.nodePorts()
		if err != nil {
			return fmt.Errorf("node port addresses: %w", err)
		}
		cfg.NodePortAddresses = addrs
	}
	rs := p.builder.Build(snap, cfg)
	stats, err := p.proxier.Sync(rs, full)
	if err != nil {
		return err
	}
	p.log.Debug("nftables synced", "full", stats.Full, "chainsWritten", stats.ChainsWritten,
		"chainsDeleted", stats.ChainsDeleted, "elementsAdded", stats.ElementsAdded, "elementsDeleted", stats.ElementsDeleted)
	if stale := conntrack.Stale(p.last, snap, cfg.NodeName); len(stale) > 0 {
		n, err := p.conntrack.Delete(stale)
		if err != nil {
			p.log.Warn("delete stale udp conntrack entries", "endpoints", stale, "err", err)
		} else {
			p.log.Debug("deleted stale udp conntrack entries", "endpoints", stale, "entries", n)
		}
	}
	if addrs, ports := conntrack.Untranslated(p.last, snap, cfg.NodeName); len(addrs)+len(ports) > 0 {
		n, err := p.conntrack.DeleteUntranslated(cfg.Family, addrs, ports)
		if err != nil {
			p.log.Warn("delete untranslated udp conntrack entries", "addresses", addrs, "nodePorts", ports, "err", err)
		} else if n > 0 {
			p.log.Info("deleted udp conntrack entries that went untranslated to services", "addresses", len(addrs), "nodePorts", len(ports), "entries", n)
		}
	}
	p.last = snap
	return nil
}
