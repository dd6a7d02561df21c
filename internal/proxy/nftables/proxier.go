package nftables

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	nft "github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Proxier programs a [Ruleset] into the kernel over netlink, in the network
// namespace it was created in. Every sync is one netlink transaction: the kernel
// applies all of it or none. It is safe for use by one goroutine at a time.
type Proxier struct {
	mu sync.Mutex
	// conn reads the kernel's state; w writes.
	conn  *nft.Conn
	w     *batchWriter
	table *nft.Table
	// applied is what the last successful sync left in the kernel; nil forces
	// the next sync to be a full one.
	applied *tableState
}

// tableState is the fingerprint of a ruleset: what an incremental sync diffs against.
type tableState struct {
	chains map[string]string              // name -> rules text
	maps   map[string]map[elemKey]Element // map -> element key -> element
	sets   map[string]*Set
}

func fingerprint(rs *Ruleset) *tableState {
	st := &tableState{chains: make(map[string]string, len(rs.Chains)), maps: map[string]map[elemKey]Element{}, sets: map[string]*Set{}}
	for _, c := range rs.Chains {
		st.chains[c.Name] = c.rulesText()
	}
	for _, m := range rs.Maps {
		els := make(map[elemKey]Element, len(m.Elements))
		for _, e := range m.Elements {
			els[e.id()] = e
		}
		st.maps[m.Name] = els
	}
	for _, s := range rs.Sets {
		st.sets[s.Name] = s
	}
	return st
}

// NewProxier opens a netlink connection for table name in the network namespace
// of netnsFD, or the current one when netnsFD is negative. It changes nothing in
// the kernel.
func NewProxier(table string, netnsFD int) (*Proxier, error) {
	if table == "" {
		table = "svcnet"
	}
	opts := []nft.ConnOption{nft.AsLasting(), nft.WithSockOptions(largeBuffers)}
	if netnsFD >= 0 {
		opts = append(opts, nft.WithNetNSFd(netnsFD))
	}
	conn, err := nft.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("open nftables netlink connection: %w", err)
	}
	w, err := newBatchWriter(netnsFD)
	if err != nil {
		conn.CloseLasting()
		return nil, err
	}
	return &Proxier{conn: conn, w: w, table: &nft.Table{Name: table, Family: nft.TableFamilyIPv4}}, nil
}

// socketBuffer is the send and receive buffer of the netlink socket. A sync is
// one batch in one message, and the kernel acknowledges every part of it, so
// both directions must hold a whole large sync; like nft, the agent forces the
// size past net.core.[rw]mem_max (it has CAP_NET_ADMIN). Memory is used only
// while a batch is in flight.
const socketBuffer = 512 << 20

func largeBuffers(c *netlink.Conn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		for _, opt := range []int{unix.SO_SNDBUFFORCE, unix.SO_RCVBUFFORCE} {
			if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, socketBuffer); e != nil && serr == nil {
				serr = e
			}
		}
	})
	if err == nil && serr != nil {
		// Without CAP_NET_ADMIN the forced sizes are refused; the default
		// buffers still serve small tables.
		return nil
	}
	return err
}

// Close releases the netlink connection; the kernel keeps the rules.
func (p *Proxier) Close() error { return errors.Join(p.w.close(), p.conn.CloseLasting()) }

// SyncStats says what one sync changed.
type SyncStats struct {
	Full bool
	// Chains rewritten, added or deleted; map elements added or deleted.
	ChainsWritten, ChainsDeleted, ElementsAdded, ElementsDeleted int
}

// Sync makes the kernel hold rs. With full, or when the previous sync failed, it
// reconciles against what the kernel actually holds (repairing changes made
// behind svcnet's back); otherwise it sends only the difference from the last
// sync. Either way it is one transaction.
func (p *Proxier) Sync(rs *Ruleset, full bool) (SyncStats, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// rs is not validated here: the kernel checks every reference and refuses
	// the whole batch if one is dangling (tests call Validate on what Build makes).
	want := fingerprint(rs)
	var stats SyncStats
	var err error
	if full || p.applied == nil {
		stats, err = p.fullSync(rs, want)
	} else {
		stats, err = p.incrementalSync(rs, want)
	}
	if err != nil {
		p.applied = nil
		return stats, err
	}
	p.applied = want
	return stats, nil
}

func (p *Proxier) encoder() *encoder { return &encoder{conn: p.w.conn, table: p.table} }

// fullSync rewrites every chain and map of rs, and deletes whatever else the
// table holds. Affinity sets that stay are kept with their entries.
func (p *Proxier) fullSync(rs *Ruleset, want *tableState) (SyncStats, error) {
	stats := SyncStats{Full: true}
	have := kernelObjects{chains: map[string]*nft.Chain{}, sets: map[string]*nft.Set{}}
	if err := p.listKernel(&have); err != nil {
		return stats, err
	}
	e := p.encoder()
	p.w.conn.AddTable(p.table)
	// Empty everything first, so that no reference blocks a deletion below.
	for _, c := range have.chains {
		p.w.conn.FlushChain(c)
	}
	// Maps and plain sets are refilled whole; affinity sets (with timeouts) keep
	// their clients.
	for _, s := range have.sets {
		if s.IsMap || !s.HasTimeout {
			p.w.conn.FlushSet(s)
		}
	}
	chains := map[string]*nft.Chain{}
	for _, c := range rs.Chains {
		chains[c.Name] = p.w.conn.AddChain(e.chain(c))
	}
	if err := p.addSetsAndMaps(e, rs, have.sets); err != nil {
		return stats, err
	}
	for _, c := range rs.Chains {
		for _, r := range c.Rules {
			if err := e.rule(chains[c.Name], r); err != nil {
				return stats, err
			}
		}
		stats.ChainsWritten++
	}
	if err := p.addAllElements(e, rs, &stats); err != nil {
		return stats, err
	}
	for name, c := range have.chains {
		if _, ok := want.chains[name]; !ok {
			p.w.conn.DelChain(c)
			stats.ChainsDeleted++
		}
	}
	for name, s := range have.sets {
		_, isSet := want.sets[name]
		_, isMap := want.maps[name]
		if !isSet && !isMap {
			p.w.conn.DelSet(s)
		}
	}
	if err := p.w.commit(); err != nil {
		return stats, fmt.Errorf("full sync of table %s: %w", p.table.Name, err)
	}
	return stats, nil
}

type kernelObjects struct {
	chains map[string]*nft.Chain
	sets   map[string]*nft.Set
}

// listKernel reads the table's chains and named sets; a missing table is empty.
func (p *Proxier) listKernel(have *kernelObjects) error {
	tables, err := p.conn.ListTablesOfFamily(nft.TableFamilyIPv4)
	if err != nil {
		return fmt.Errorf("list nftables tables: %w", err)
	}
	if !slices.ContainsFunc(tables, func(t *nft.Table) bool { return t.Name == p.table.Name }) {
		return nil
	}
	chains, err := p.conn.ListChainsOfTableFamily(nft.TableFamilyIPv4)
	if err != nil {
		return fmt.Errorf("list chains of table %s: %w", p.table.Name, err)
	}
	for _, c := range chains {
		if c.Table.Name == p.table.Name {
			have.chains[c.Name] = c
		}
	}
	sets, err := p.conn.GetSets(p.table)
	if err != nil {
		return fmt.Errorf("list sets of table %s: %w", p.table.Name, err)
	}
	for _, s := range sets {
		if !s.Anonymous && !strings.HasPrefix(s.Name, "__") {
			s.Table = p.table
			have.sets[s.Name] = s
		}
	}
	return nil
}

// addSetsAndMaps creates the sets and maps of rs that the kernel lacks, and
// fills the nodeport address set. Existing affinity sets keep their entries.
func (p *Proxier) addSetsAndMaps(e *encoder, rs *Ruleset, have map[string]*nft.Set) error {
	for _, m := range rs.Maps {
		if old, ok := have[m.Name]; ok && old.IsMap {
			continue
		}
		if err := p.w.conn.AddSet(e.mapSet(m), nil); err != nil {
			return fmt.Errorf("add map %s: %w", m.Name, err)
		}
	}
	for _, s := range rs.Sets {
		set := e.addrSet(s)
		if _, ok := have[s.Name]; !ok {
			if err := p.w.conn.AddSet(set, nil); err != nil {
				return fmt.Errorf("add set %s: %w", s.Name, err)
			}
		}
		if len(s.Elements) > 0 {
			if err := p.addElements(set, addrElements(s, s.Elements)); err != nil {
				return fmt.Errorf("fill set %s: %w", s.Name, err)
			}
		}
	}
	return nil
}

func (p *Proxier) addAllElements(e *encoder, rs *Ruleset, stats *SyncStats) error {
	for _, m := range rs.Maps {
		if len(m.Elements) == 0 {
			continue
		}
		if err := p.addElements(e.mapSet(m), mapElements(m, m.Elements)); err != nil {
			return fmt.Errorf("fill map %s: %w", m.Name, err)
		}
		stats.ElementsAdded += len(m.Elements)
	}
	return nil
}

// incrementalSync sends only what differs from the last sync.
func (p *Proxier) incrementalSync(rs *Ruleset, want *tableState) (SyncStats, error) {
	var stats SyncStats
	have := p.applied
	e := p.encoder()
	// New sets and maps.
	for _, m := range rs.Maps {
		if _, ok := have.maps[m.Name]; !ok {
			if err := p.w.conn.AddSet(e.mapSet(m), nil); err != nil {
				return stats, fmt.Errorf("add map %s: %w", m.Name, err)
			}
		}
	}
	for _, s := range rs.Sets {
		old, ok := have.sets[s.Name]
		set := e.addrSet(s)
		if !ok {
			if err := p.w.conn.AddSet(set, nil); err != nil {
				return stats, fmt.Errorf("add set %s: %w", s.Name, err)
			}
		}
		if s.Timeout == 0 {
			var before []netip.Addr
			if ok {
				before = old.Elements
			}
			gone, added := diffAddrs(before, s.Elements)
			if err := p.deleteElements(set, addrElements(s, gone)); err != nil {
				return stats, fmt.Errorf("delete elements of set %s: %w", s.Name, err)
			}
			if err := p.addElements(set, addrElements(s, added)); err != nil {
				return stats, fmt.Errorf("add elements to set %s: %w", s.Name, err)
			}
		}
	}
	// New chains exist (empty) before anything refers to them.
	chains := map[string]*nft.Chain{}
	for _, c := range rs.Chains {
		ch := e.chain(c)
		if _, ok := have.chains[c.Name]; !ok {
			ch = p.w.conn.AddChain(ch)
		}
		chains[c.Name] = ch
	}
	// Map elements that go away or change, before the chains they name go.
	adds := map[string][]Element{}
	for _, m := range rs.Maps {
		old := have.maps[m.Name]
		var dels []Element
		for k, el := range old {
			if nw, ok := want.maps[m.Name][k]; !ok || nw.Verdict != el.Verdict {
				dels = append(dels, el)
			}
		}
		for _, nw := range m.Elements {
			k := nw.id()
			if el, ok := old[k]; !ok || el.Verdict != nw.Verdict {
				adds[m.Name] = append(adds[m.Name], nw)
			}
		}
		if len(dels) > 0 {
			if err := p.deleteElements(e.mapSet(m), mapElements(m, dels)); err != nil {
				return stats, fmt.Errorf("delete elements of map %s: %w", m.Name, err)
			}
			stats.ElementsDeleted += len(dels)
		}
	}
	// Chains whose rules changed are rewritten whole.
	for _, c := range rs.Chains {
		if old, ok := have.chains[c.Name]; ok && old == want.chains[c.Name] {
			continue
		}
		if _, ok := have.chains[c.Name]; ok {
			p.w.conn.FlushChain(chains[c.Name])
		}
		for _, r := range c.Rules {
			if err := e.rule(chains[c.Name], r); err != nil {
				return stats, err
			}
		}
		stats.ChainsWritten++
	}
	for _, m := range rs.Maps {
		if len(adds[m.Name]) == 0 {
			continue
		}
		if err := p.addElements(e.mapSet(m), mapElements(m, adds[m.Name])); err != nil {
			return stats, fmt.Errorf("add elements to map %s: %w", m.Name, err)
		}
		stats.ElementsAdded += len(adds[m.Name])
	}
	// Chains that go: empty them all first (they may refer to each other).
	var gone []*nft.Chain
	for name := range have.chains {
		if _, ok := want.chains[name]; !ok {
			c := &nft.Chain{Table: p.table, Name: name}
			p.w.conn.FlushChain(c)
			gone = append(gone, c)
		}
	}
	for _, c := range gone {
		p.w.conn.DelChain(c)
		stats.ChainsDeleted++
	}
	for name, s := range have.sets {
		if _, ok := want.sets[name]; !ok {
			p.w.conn.DelSet(e.addrSet(s))
		}
	}
	if err := p.w.commit(); err != nil {
		return stats, fmt.Errorf("incremental sync of table %s: %w", p.table.Name, err)
	}
	return stats, nil
}

// diffAddrs returns the addresses of before not in after, and of after not in
// before. Both are sorted and without repeats, as Build leaves a set's elements.
func diffAddrs(before, after []netip.Addr) (gone, added []netip.Addr) {
	i, j := 0, 0
	for i < len(before) && j < len(after) {
		switch c := before[i].Compare(after[j]); {
		case c < 0:
			gone = append(gone, before[i])
			i++
		case c > 0:
			added = append(added, after[j])
			j++
		default:
			i, j = i+1, j+1
		}
	}
	return append(gone, before[i:]...), append(added, after[j:]...)
}

// elementsPerMessage bounds the elements of one netlink message: a message's
// element list is one attribute, whose length is 16 bits.
const elementsPerMessage = 256

func (p *Proxier) addElements(set *nft.Set, els []nft.SetElement) error {
	for len(els) > 0 {
		n := min(len(els), elementsPerMessage)
		if err := p.w.conn.SetAddElements(set, els[:n]); err != nil {
			return err
		}
		els = els[n:]
	}
	return nil
}

func (p *Proxier) deleteElements(set *nft.Set, els []nft.SetElement) error {
	for len(els) > 0 {
		n := min(len(els), elementsPerMessage)
		if err := p.w.conn.SetDeleteElements(set, els[:n]); err != nil {
			return err
		}
		els = els[n:]
	}
	return nil
}

// Cleanup deletes svcnet's table and everything in it; a missing table is not
// an error.
func (p *Proxier) Cleanup() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.applied = nil
	tables, err := p.conn.ListTablesOfFamily(nft.TableFamilyIPv4)
	if err != nil {
		return fmt.Errorf("list nftables tables: %w", err)
	}
	if !slices.ContainsFunc(tables, func(t *nft.Table) bool { return t.Name == p.table.Name }) {
		return nil
	}
	p.w.conn.DelTable(p.table)
	if err := p.w.commit(); err != nil {
		return fmt.Errorf("delete table %s: %w", p.table.Name, err)
	}
	return nil
}

// Check asks the kernel for its tables: it fails when the process may not use
// nftables (no CAP_NET_ADMIN) or the kernel has no nftables.
func (p *Proxier) Check() error {
	if _, err := p.conn.ListTablesOfFamily(nft.TableFamilyIPv4); err != nil {
		return fmt.Errorf("list nftables tables: %w", err)
	}
	return nil
}
