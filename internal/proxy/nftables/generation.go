package nftables

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The kernel numbers the nftables rulesets of a network namespace: every
// committed transaction, whoever sends it, moves the generation on by one
// (reading the ruleset, and the packet path's own set updates, do not). A
// proxier that reads the generation before and after each of its syncs knows
// whether anyone else committed in between, and so whether its table can have
// been changed behind its back since its last sync: Unchanged answers that
// with one netlink round trip, where a full sync re-reads and rewrites the
// whole table. Generations are per network namespace, so the proxiers of one
// namespace (the ip and ip6 tables of a dual-stack node) share one record of
// the generations their commits made ([Proxier.ShareGenerations]).

// maxOwnGenerations bounds the record of the generations this process's
// commits made; a proxier whose last sync lies further back than that many
// commits counts its table as possibly changed.
const maxOwnGenerations = 4096

// ownGenerations records the generations made by the commits of the proxiers
// sharing it.
type ownGenerations struct {
	mu    sync.Mutex
	set   map[uint32]struct{}
	order []uint32 // oldest first, for pruning
}

func newOwnGenerations() *ownGenerations {
	return &ownGenerations{set: map[uint32]struct{}{}}
}

func (o *ownGenerations) add(g uint32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.set[g]; ok {
		return
	}
	o.set[g] = struct{}{}
	o.order = append(o.order, g)
	if len(o.order) > maxOwnGenerations {
		delete(o.set, o.order[0])
		o.order = o.order[1:]
	}
}

// owned reports whether every generation after from, up to and including to,
// was made by a recorded commit (true when to == from).
func (o *ownGenerations) owned(from, to uint32) bool {
	if to-from > maxOwnGenerations { // also catches to < from
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for g := from + 1; g != to+1; g++ {
		if _, ok := o.set[g]; !ok {
			return false
		}
	}
	return true
}

// generation reads the ruleset generation of the writer's network namespace.
func (w *batchWriter) generation() (uint32, error) {
	req := netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETGEN),
			Flags: netlink.Request,
		},
		// nfgenmsg: family AF_UNSPEC, version, resource id.
		Data: []byte{unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, 0},
	}
	replies, err := w.nl.Execute(req)
	if err != nil {
		return 0, fmt.Errorf("read nftables generation: %w", err)
	}
	for _, r := range replies {
		if r.Header.Type != netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_NEWGEN) || len(r.Data) < 4 {
			continue
		}
		ad, err := netlink.NewAttributeDecoder(r.Data[4:])
		if err != nil {
			return 0, fmt.Errorf("read nftables generation: %w", err)
		}
		ad.ByteOrder = binary.BigEndian
		for ad.Next() {
			if ad.Type() == unix.NFTA_GEN_ID {
				return ad.Uint32(), nil
			}
		}
		if err := ad.Err(); err != nil {
			return 0, fmt.Errorf("read nftables generation: %w", err)
		}
	}
	return 0, errors.New("read nftables generation: no generation in the kernel's reply")
}

// ShareGenerations makes p and other, proxiers of the same network namespace,
// count each other's commits as their own when they judge whether their table
// changed behind their back. Without it, every commit of one would make the
// other's next periodic check fail.
func (p *Proxier) ShareGenerations(other *Proxier) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gens = other.gens
	p.known = false
}

// noteSync updates what p knows of its table after a sync. g0 (or g0err) is the
// generation read before the sync looked at or changed anything; committed
// says whether the sync sent a transaction, which succeeded; full whether it
// reconciled the whole table against the kernel.
func (p *Proxier) noteSync(g0 uint32, g0err error, committed, full bool) {
	if !committed {
		return // nothing of ours moved; what was known stays known
	}
	g1, err := p.w.generation()
	if g0err != nil || err != nil || g1 != g0+1 {
		// Someone else committed while this sync ran (or the generation
		// could not be read): the table may hold their change.
		p.known = false
		return
	}
	p.gens.add(g1)
	// A full sync made the table whole as of g0; an incremental one keeps it
	// whole only if it was before and nobody else committed since.
	p.known = full || (p.known && p.gens.owned(p.good, g0))
	p.good = g1
}

// Unchanged reports whether the kernel's ruleset can only have changed, since
// p's last sync, by commits of p and the proxiers it shares generations with:
// then p's table is exactly what its last sync left, and a full sync would
// find nothing to repair. It is false when p has not synced yet, when its last
// sync failed, and whenever the generation cannot be read.
func (p *Proxier) Unchanged() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.known || p.applied == nil {
		return false
	}
	g, err := p.w.generation()
	return err == nil && p.gens.owned(p.good, g)
}
