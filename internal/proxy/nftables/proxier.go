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

	"github.com/svcnet/svcnet/internal/proxy"
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
	// gens records the ruleset generations made by this proxier's commits (and
	// those of the proxiers it shares them with); good is the generation right
	// after its last sync, and known says the table was exactly what that sync
	// left then (see generation.go).
	gens  *ownGenerations
	good  uint32
	known bool
}

// tableState is what the last sync left in the kernel, as the groups it
// programmed: what an incremental sync diffs against.
type tableState struct {
	maps  map[string]*Map
	fixed *Group
	ports map[string]*Group
	// order are the port groups of the last sync, in order.
	order []*Group
	// hairpin counts the groups that name each address of the hairpin set.
	hairpin map[netip.Addr]int
	// lingering are chains the kernel still holds, unreferenced, that the
	// ruleset no longer has (see Chain.Linger).
	lingering map[string]*Chain
	// mapLen and mapCap are each map's number of elements and the most the
	// kernel lets it hold.
	mapLen map[string]int
	mapCap map[string]uint32
}

// minMapSize is the least size a map is created with.
const minMapSize = 1 << 12

// mapSize is the size a map of n elements is created with: room for twice as
// many, so that incremental syncs rarely find it full (a full sync then makes
// it anew, larger).
func mapSize(n int) uint32 {
	size := uint32(minMapSize)
	for int(size) < 2*n {
		size <<= 1
	}
	return size
}

// errMapFull stops an incremental sync that would overfill a map.
var errMapFull = errors.New("a map would be over its size")

// newState is the state after rs is programmed whole.
func newState(rs *Ruleset) *tableState {
	st := &tableState{maps: make(map[string]*Map, len(rs.Maps)), fixed: rs.Fixed,
		ports: make(map[string]*Group, len(rs.Ports)), hairpin: map[netip.Addr]int{},
		mapLen: map[string]int{}, mapCap: map[string]uint32{}, lingering: map[string]*Chain{}}
	for _, m := range rs.Maps {
		st.maps[m.Name] = m
	}
	for _, g := range rs.Ports {
		st.ports[g.Name] = g
	}
	st.order = rs.Ports
	for _, g := range append([]*Group{rs.Fixed}, rs.Ports...) {
		for _, a := range g.Hairpin {
			st.hairpin[a]++
		}
	}
	return st
}

// NewProxier opens a netlink connection for table name of family (IPv4: table
// ip, IPv6: table ip6; the two are different tables of the same name) in the
// network namespace of netnsFD, or the current one when netnsFD is negative. It
// changes nothing in the kernel.
func NewProxier(table string, family proxy.Family, netnsFD int) (*Proxier, error) {
	if table == "" {
		table = "svcnet"
	}
	tf := nft.TableFamilyIPv4
	switch family {
	case proxy.IPv4, 0:
	case proxy.IPv6:
		tf = nft.TableFamilyIPv6
	default:
		return nil, fmt.Errorf("nftables proxier: unknown address family %d", family)
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
	return &Proxier{conn: conn, w: w, table: &nft.Table{Name: table, Family: tf}, gens: newOwnGenerations()}, nil
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
	if f := rs.Family; f != p.Family() && (f != 0 || p.Family() != proxy.IPv4) {
		return SyncStats{}, fmt.Errorf("sync table %s: the ruleset is of IPv%d", p.Table(), f)
	}
	g0, g0err := p.w.generation()
	if !full && p.applied != nil {
		// The incremental sync updates p.applied as it goes; a failure
		// leaves it unknown, and the next sync is a full one.
		stats, err := p.incrementalSync(rs)
		if err == nil {
			p.noteSync(g0, g0err, p.w.sent, false)
			return stats, nil
		}
		if !errors.Is(err, errMapFull) {
			p.applied, p.known = nil, false
			return stats, err
		}
	}
	st := newState(rs)
	stats, err := p.fullSync(rs, st)
	if err != nil {
		p.applied, p.known = nil, false
		return stats, err
	}
	p.applied = st
	p.noteSync(g0, g0err, p.w.sent, true)
	return stats, nil
}

func (p *Proxier) encoder() *encoder {
	return &encoder{conn: p.w.conn, table: p.table, v6: p.table.Family == nft.TableFamilyIPv6}
}

// Family is the address family of the proxier's table.
func (p *Proxier) Family() proxy.Family {
	if p.table.Family == nft.TableFamilyIPv6 {
		return proxy.IPv6
	}
	return proxy.IPv4
}

// Table names the proxier's table as nft does: "ip svcnet", "ip6 svcnet".
func (p *Proxier) Table() string { return ipKeyword(p.Family()) + " " + p.table.Name }

// fullSync rewrites every chain, map and plain set of rs, and deletes
// whatever else the table holds. Affinity sets that stay are kept with their
// entries.
// It records the maps' lengths and sizes in st.
func (p *Proxier) fullSync(rs *Ruleset, st *tableState) (SyncStats, error) {
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
	groups := append([]*Group{rs.Fixed}, rs.Ports...)
	counts := map[string]int{}
	for _, g := range groups {
		for _, me := range g.Elements {
			counts[me.Map]++
		}
	}
	st.mapLen, st.mapCap = counts, map[string]uint32{}
	wantChains, wantSets := map[string]bool{}, map[string]bool{}
	for _, m := range rs.Maps {
		wantSets[m.Name] = true
		if old, ok := have.sets[m.Name]; ok && old.IsMap == !m.Set {
			if old.Size != 0 && int(old.Size) >= counts[m.Name] {
				st.mapCap[m.Name] = old.Size
				continue
			}
		}
		if old, ok := have.sets[m.Name]; ok {
			// Too small, made without a size (by an older svcnet), or of
			// another kind: made anew. Nothing refers to it any more (every
			// chain was flushed above).
			p.w.conn.DelSet(old)
		}
		size := mapSize(counts[m.Name])
		st.mapCap[m.Name] = size
		if err := p.w.conn.AddSet(e.sizedMap(m, size), nil); err != nil {
			return stats, fmt.Errorf("add map %s: %w", m.Name, err)
		}
	}
	chains := map[string]*nft.Chain{}
	hairpin := map[netip.Addr]bool{}
	var hairpinSet *Set
	for _, g := range groups {
		for _, c := range g.Chains {
			wantChains[c.Name] = true
			chains[c.Name] = p.w.conn.AddChain(e.chain(c))
		}
		for _, s := range g.Sets {
			wantSets[s.Name] = true
			set := e.addrSet(s)
			if _, ok := have.sets[s.Name]; !ok {
				if err := p.w.conn.AddSet(set, nil); err != nil {
					return stats, fmt.Errorf("add set %s: %w", s.Name, err)
				}
			}
			if s.Name == setHairpin {
				hairpinSet = s
			}
			if err := p.addElements(set, e.addrElements(s, s.Elements)); err != nil {
				return stats, fmt.Errorf("fill set %s: %w", s.Name, err)
			}
		}
		for _, a := range g.Hairpin {
			hairpin[a] = true
		}
	}
	for _, g := range groups {
		for _, c := range g.Chains {
			for _, r := range c.Rules {
				if err := e.rule(chains[c.Name], r); err != nil {
					return stats, err
				}
			}
			stats.ChainsWritten++
		}
	}
	// Elements go out a message at a time per map, straight from the groups:
	// there are hundreds of thousands at 30,000 Services, and neither a copy
	// of them all nor their whole encoding needs to exist at once.
	fills := make(map[string]*mapFill, len(rs.Maps))
	for _, m := range rs.Maps {
		fills[m.Name] = &mapFill{m: m, set: e.mapSet(m), els: make([]Element, 0, min(counts[m.Name], elementsPerMessage))}
	}
	send := func(f *mapFill) error {
		if err := p.addElements(f.set, e.mapElements(f.m, f.els)); err != nil {
			return fmt.Errorf("fill map %s: %w", f.m.Name, err)
		}
		stats.ElementsAdded += len(f.els)
		f.els = f.els[:0]
		return nil
	}
	for _, g := range groups {
		for _, me := range g.Elements {
			f := fills[me.Map]
			if f == nil {
				continue
			}
			if f.els = append(f.els, me.Element); len(f.els) == elementsPerMessage {
				if err := send(f); err != nil {
					return stats, err
				}
			}
		}
	}
	for _, m := range rs.Maps {
		if f := fills[m.Name]; len(f.els) > 0 {
			if err := send(f); err != nil {
				return stats, err
			}
		}
	}
	if hairpinSet != nil && len(hairpin) > 0 {
		addrs := make([]netip.Addr, 0, len(hairpin))
		for a := range hairpin {
			addrs = append(addrs, a)
		}
		if err := p.addElements(e.addrSet(hairpinSet), e.addrElements(hairpinSet, addrs)); err != nil {
			return stats, fmt.Errorf("fill set %s: %w", setHairpin, err)
		}
	}
	for name, c := range have.chains {
		if !wantChains[name] {
			p.w.conn.DelChain(c)
			stats.ChainsDeleted++
		}
	}
	for name, s := range have.sets {
		if !wantSets[name] {
			p.w.conn.DelSet(s)
		}
	}
	if err := p.w.commit(); err != nil {
		return stats, fmt.Errorf("full sync of table %s: %w", p.Table(), err)
	}
	return stats, nil
}

// mapFill is one map's elements on their way into a full sync's batch.
type mapFill struct {
	m   *Map
	set *nft.Set
	els []Element
}

type kernelObjects struct {
	chains map[string]*nft.Chain
	sets   map[string]*nft.Set
}

// listKernel reads the table's chains and named sets; a missing table is empty.
func (p *Proxier) listKernel(have *kernelObjects) error {
	tables, err := p.conn.ListTablesOfFamily(p.table.Family)
	if err != nil {
		return fmt.Errorf("list nftables tables: %w", err)
	}
	if !slices.ContainsFunc(tables, func(t *nft.Table) bool { return t.Name == p.table.Name }) {
		return nil
	}
	chains, err := p.conn.ListChainsOfTableFamily(p.table.Family)
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

// delta is what an incremental sync sends, gathered before anything is
// encoded so that the batch can be ordered: objects exist before anything
// refers to them, and references go before what they refer to.
type delta struct {
	newMaps   []*Map
	newSets   []*Set
	newChains []*Chain
	// write are chains whose rules are (re)written; flush those that existed.
	write, flush []*Chain
	delChains    []string
	delSets      []*Set
	addEls       map[string][]Element
	delEls       map[string][]Element
	// setAdds and setDels are elements of plain sets (node port addresses,
	// hairpin), by set.
	// lingering are chains left in the kernel unreferenced (the table state's
	// map, updated in place).
	lingering map[string]*Chain
	// goneMaps are maps and dispatch sets no longer wanted.
	goneMaps         []*Map
	setAdds, setDels map[*Set][]netip.Addr
	// hairpinWas records, for each hairpin address whose count of groups
	// changed, whether the set held it before the sync.
	hairpinWas map[netip.Addr]bool
	hairpinSet *Set
	// family is the table's: the text of chains compared.
	family proxy.Family
}

// group adds to d what turns group old into group nw (either may be nil),
// counting hairpin addresses in refs.
func (d *delta) group(old, nw *Group, refs map[netip.Addr]int) {
	var oldChains map[string]*Chain
	if old != nil {
		oldChains = make(map[string]*Chain, len(old.Chains))
		for _, c := range old.Chains {
			oldChains[c.Name] = c
		}
	}
	newChains := map[string]bool{}
	if nw != nil {
		for _, c := range nw.Chains {
			newChains[c.Name] = true
			o, ok := oldChains[c.Name]
			if !ok {
				if o, ok = d.lingering[c.Name]; ok {
					delete(d.lingering, c.Name)
				}
			}
			switch {
			case !ok:
				d.newChains = append(d.newChains, c)
				d.write = append(d.write, c)
			case o != c && o.rulesText(d.family) != c.rulesText(d.family):
				d.flush = append(d.flush, c)
				d.write = append(d.write, c)
			}
		}
	}
	for name, c := range oldChains {
		if newChains[name] {
			continue
		}
		if c.Linger {
			d.lingering[name] = c
			continue
		}
		d.delChains = append(d.delChains, name)
	}

	oldSets := map[string]*Set{}
	if old != nil {
		for _, s := range old.Sets {
			oldSets[s.Name] = s
		}
	}
	if nw != nil {
		for _, s := range nw.Sets {
			o, ok := oldSets[s.Name]
			delete(oldSets, s.Name)
			if s.Name == setHairpin {
				d.hairpinSet = s
			}
			if !ok {
				d.newSets = append(d.newSets, s)
			}
			if s.Timeout == 0 {
				var before []netip.Addr
				if ok {
					before = o.Elements
				}
				gone, added := diffAddrs(before, s.Elements)
				d.setDels[s] = append(d.setDels[s], gone...)
				d.setAdds[s] = append(d.setAdds[s], added...)
			}
		}
	}
	for _, s := range oldSets {
		d.delSets = append(d.delSets, s)
	}

	type elID struct {
		m  string
		id elemKey
	}
	oldEls := map[elID]Element{}
	if old != nil {
		for _, me := range old.Elements {
			oldEls[elID{me.Map, me.id()}] = me.Element
		}
	}
	if nw != nil {
		for _, me := range nw.Elements {
			k := elID{me.Map, me.id()}
			o, ok := oldEls[k]
			delete(oldEls, k)
			if ok && o == me.Element {
				continue
			}
			if ok {
				d.delEls[me.Map] = append(d.delEls[me.Map], o)
			}
			d.addEls[me.Map] = append(d.addEls[me.Map], me.Element)
		}
	}
	for k, o := range oldEls {
		d.delEls[k.m] = append(d.delEls[k.m], o)
	}

	count := func(a netip.Addr, by int) {
		if _, ok := d.hairpinWas[a]; !ok {
			d.hairpinWas[a] = refs[a] > 0
		}
		if refs[a] += by; refs[a] <= 0 {
			delete(refs, a)
		}
	}
	if old != nil {
		for _, a := range old.Hairpin {
			count(a, -1)
		}
	}
	if nw != nil {
		for _, a := range nw.Hairpin {
			count(a, 1)
		}
	}
}

func newDelta() *delta {
	return &delta{addEls: map[string][]Element{}, delEls: map[string][]Element{},
		setAdds: map[*Set][]netip.Addr{}, setDels: map[*Set][]netip.Addr{}, hairpinWas: map[netip.Addr]bool{}}
}

// diff gathers what turns have into rs, and updates have to rs.
func (d *delta) diff(have *tableState, rs *Ruleset) {
	d.lingering = have.lingering
	want := make(map[string]bool, len(rs.Maps))
	for _, m := range rs.Maps {
		want[m.Name] = true
		if _, ok := have.maps[m.Name]; !ok {
			d.newMaps = append(d.newMaps, m)
			have.maps[m.Name] = m
		}
	}
	for name, m := range have.maps {
		if !want[name] {
			d.goneMaps = append(d.goneMaps, m)
			delete(have.maps, name)
			delete(have.mapLen, name)
			delete(have.mapCap, name)
		}
	}
	if have.fixed != rs.Fixed {
		d.group(have.fixed, rs.Fixed, have.hairpin)
		have.fixed = rs.Fixed
	}
	j := 0 // position in have.order
	for _, g := range rs.Ports {
		// Groups a Builder kept come in the same order as last time: most
		// are found by pointer, without hashing their names.
		switch {
		case j < len(have.order) && have.order[j] == g:
			j++
			continue
		case j+1 < len(have.order) && have.order[j+1] == g: // one port went
			j += 2
			continue
		}
		if old := have.ports[g.Name]; old != g {
			d.group(old, g, have.hairpin)
			have.ports[g.Name] = g
		}
		if j < len(have.order) && have.order[j].Name == g.Name { // changed in place
			j++
		}
	}
	have.order = rs.Ports
	// Only when ports went is a set of the wanted names needed (the order of
	// groups does not matter: deletions go first in the batch, and hairpin
	// addresses count their net change).
	if len(have.ports) > len(rs.Ports) {
		want := make(map[string]bool, len(rs.Ports))
		for _, g := range rs.Ports {
			want[g.Name] = true
		}
		for name, old := range have.ports {
			if !want[name] {
				d.group(old, nil, have.hairpin)
				delete(have.ports, name)
			}
		}
	}
	if d.hairpinSet == nil {
		d.hairpinSet = &Set{Name: setHairpin, Pairs: true}
	}
}

// incrementalSync sends only what differs from the last sync: groups that are
// the same pointers as last time are skipped without a look inside, so a sync
// costs in proportion to the ports that changed (plus a walk over the ports).
func (p *Proxier) incrementalSync(rs *Ruleset) (SyncStats, error) {
	var stats SyncStats
	have := p.applied
	d := newDelta()
	d.family = p.Family()
	d.diff(have, rs)
	for _, m := range rs.Maps {
		n := have.mapLen[m.Name] + len(d.addEls[m.Name]) - len(d.delEls[m.Name])
		if cp, ok := have.mapCap[m.Name]; ok && n > int(cp) {
			return stats, fmt.Errorf("map %s: %d elements: %w", m.Name, n, errMapFull)
		}
		have.mapLen[m.Name] = n
	}
	e := p.encoder()
	for _, m := range d.newMaps {
		size := mapSize(len(d.addEls[m.Name]))
		have.mapCap[m.Name] = size
		if err := p.w.conn.AddSet(e.sizedMap(m, size), nil); err != nil {
			return stats, fmt.Errorf("add map %s: %w", m.Name, err)
		}
	}
	for _, s := range d.newSets {
		if err := p.w.conn.AddSet(e.addrSet(s), nil); err != nil {
			return stats, fmt.Errorf("add set %s: %w", s.Name, err)
		}
	}
	// New chains exist (empty) before anything refers to them.
	chains := map[string]*nft.Chain{}
	for _, c := range d.newChains {
		chains[c.Name] = p.w.conn.AddChain(e.chain(c))
	}
	// Map elements that go away or change, before the chains they name go.
	for _, m := range rs.Maps {
		if dels := d.delEls[m.Name]; len(dels) > 0 {
			if err := p.deleteElements(e.mapSet(m), e.mapElements(m, dels)); err != nil {
				return stats, fmt.Errorf("delete elements of map %s: %w", m.Name, err)
			}
			stats.ElementsDeleted += len(dels)
		}
	}
	// Chains whose rules changed are rewritten whole.
	for _, c := range d.flush {
		ch := e.chain(c)
		chains[c.Name] = ch
		p.w.conn.FlushChain(ch)
	}
	for _, c := range d.write {
		for _, r := range c.Rules {
			if err := e.rule(chains[c.Name], r); err != nil {
				return stats, err
			}
		}
		stats.ChainsWritten++
	}
	for _, m := range rs.Maps {
		if adds := d.addEls[m.Name]; len(adds) > 0 {
			if err := p.addElements(e.mapSet(m), e.mapElements(m, adds)); err != nil {
				return stats, fmt.Errorf("add elements to map %s: %w", m.Name, err)
			}
			stats.ElementsAdded += len(adds)
		}
	}
	for s, gone := range d.setDels {
		if err := p.deleteElements(e.addrSet(s), e.addrElements(s, gone)); err != nil {
			return stats, fmt.Errorf("delete elements of set %s: %w", s.Name, err)
		}
	}
	for s, added := range d.setAdds {
		if err := p.addElements(e.addrSet(s), e.addrElements(s, added)); err != nil {
			return stats, fmt.Errorf("add elements to set %s: %w", s.Name, err)
		}
	}
	// Hairpin addresses that came or went (an address may have moved between
	// groups: only the net change counts).
	var hairpinAdds, hairpinDels []netip.Addr
	for a, was := range d.hairpinWas {
		switch now := have.hairpin[a] > 0; {
		case was && !now:
			hairpinDels = append(hairpinDels, a)
		case !was && now:
			hairpinAdds = append(hairpinAdds, a)
		}
	}
	hp := e.addrSet(d.hairpinSet)
	if err := p.deleteElements(hp, e.addrElements(d.hairpinSet, hairpinDels)); err != nil {
		return stats, fmt.Errorf("delete elements of set %s: %w", setHairpin, err)
	}
	if err := p.addElements(hp, e.addrElements(d.hairpinSet, hairpinAdds)); err != nil {
		return stats, fmt.Errorf("add elements to set %s: %w", setHairpin, err)
	}
	// Chains that go: empty them all first (they may refer to each other).
	for _, name := range d.delChains {
		p.w.conn.FlushChain(&nft.Chain{Table: p.table, Name: name})
	}
	for _, name := range d.delChains {
		p.w.conn.DelChain(&nft.Chain{Table: p.table, Name: name})
		stats.ChainsDeleted++
	}
	for _, s := range d.delSets {
		p.w.conn.DelSet(e.addrSet(s))
	}
	for _, m := range d.goneMaps {
		p.w.conn.DelSet(e.mapSet(m))
	}
	if err := p.w.commit(); err != nil {
		return stats, fmt.Errorf("incremental sync of table %s: %w", p.Table(), err)
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
	p.applied, p.known = nil, false
	tables, err := p.conn.ListTablesOfFamily(p.table.Family)
	if err != nil {
		return fmt.Errorf("list nftables tables: %w", err)
	}
	if !slices.ContainsFunc(tables, func(t *nft.Table) bool { return t.Name == p.table.Name }) {
		return nil
	}
	p.w.conn.DelTable(p.table)
	if err := p.w.commit(); err != nil {
		return fmt.Errorf("delete table %s: %w", p.Table(), err)
	}
	return nil
}

// Check asks the kernel for its tables: it fails when the process may not use
// nftables (no CAP_NET_ADMIN) or the kernel has no nftables.
func (p *Proxier) Check() error {
	if _, err := p.conn.ListTablesOfFamily(p.table.Family); err != nil {
		return fmt.Errorf("list nftables tables: %w", err)
	}
	return nil
}
