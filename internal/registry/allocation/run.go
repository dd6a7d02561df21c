package allocation

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/svcnet/svcnet/internal/allocator"
	"github.com/svcnet/svcnet/internal/storage"
)

// Run repairs the records once, then keeps the in-memory view current from an etcd
// watch until ctx ends.
func (a *Allocations) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		err := a.syncOnce(ctx)
		if ctx.Err() != nil {
			break
		}
		a.log.Warn("allocation view resyncing", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

func (a *Allocations) syncOnce(ctx context.Context) error {
	if _, err := a.Repair(ctx); err != nil {
		return err
	}
	rev, err := a.load(ctx)
	if err != nil {
		return err
	}
	a.synced.Store(true)
	events, errc := a.store.Watch(ctx, "/registry/allocations/", rev)
	for ev := range events {
		switch ev.Type {
		case storage.Created, storage.Modified:
			a.mark(ev.Key, true)
		case storage.Deleted:
			a.mark(ev.Key, false)
		}
	}
	return <-errc
}

// load replaces the in-memory view with the stored records.
func (a *Allocations) load(ctx context.Context) (int64, error) {
	res, err := a.store.List(ctx, "/registry/allocations/", storage.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("list allocations: %w", err)
	}
	var ips []netip.Addr
	var ports []int
	for _, kv := range res.KVs {
		switch {
		case strings.HasPrefix(kv.Key, IPPrefix):
			if ip, err := netip.ParseAddr(strings.TrimPrefix(kv.Key, IPPrefix)); err == nil {
				ips = append(ips, ip)
			}
		case strings.HasPrefix(kv.Key, PortPrefix):
			if p, err := strconv.Atoi(strings.TrimPrefix(kv.Key, PortPrefix)); err == nil {
				ports = append(ports, p)
			}
		}
	}
	a.usedIPs.Replace(ips)
	a.usedPorts.Replace(ports)
	return res.Revision, nil
}

func (a *Allocations) mark(key string, used bool) {
	switch {
	case strings.HasPrefix(key, IPPrefix):
		ip, err := netip.ParseAddr(strings.TrimPrefix(key, IPPrefix))
		if err != nil {
			return
		}
		if used {
			a.usedIPs.Add(ip)
		} else {
			a.usedIPs.Remove(ip)
		}
	case strings.HasPrefix(key, PortPrefix):
		p, err := strconv.Atoi(strings.TrimPrefix(key, PortPrefix))
		if err != nil {
			return
		}
		if used {
			a.usedPorts.Add(p)
		} else {
			a.usedPorts.Remove(p)
		}
	}
}

// RepairReport says what a repair pass changed or found.
type RepairReport struct {
	Freed, Restored, Duplicates, OutOfRange []string
}

// Repair compares the records with the Services at one revision: it frees records
// no Service holds and restores records for values a Service holds without one. Each
// fix is conditional on the revisions it read, so a concurrent write wins and the
// fix is skipped.
func (a *Allocations) Repair(ctx context.Context) (RepairReport, error) {
	var rep RepairReport
	svcs, err := a.store.List(ctx, ServicePrefix, storage.ListOptions{})
	if err != nil {
		return rep, fmt.Errorf("repair: list services: %w", err)
	}
	recs, err := a.store.List(ctx, "/registry/allocations/", storage.ListOptions{Revision: svcs.Revision})
	if err != nil {
		return rep, fmt.Errorf("repair: list allocations: %w", err)
	}
	recRev := map[string]int64{}
	var recKeys []string
	for _, kv := range recs.KVs {
		recRev[kv.Key] = kv.ModRevision
		recKeys = append(recKeys, kv.Key)
	}
	heldBy := map[string][]string{}
	svcRev := map[string]int64{}
	for _, kv := range svcs.KVs {
		svc, err := decodeService(kv.Value)
		if err != nil {
			a.log.Error("repair: skip undecodable service", "key", kv.Key, "err", err)
			continue
		}
		svcRev[kv.Key] = kv.ModRevision
		ips, ports := held(svc)
		for _, ip := range ips {
			heldBy[ipKey(ip)] = append(heldBy[ipKey(ip)], kv.Key)
		}
		for _, p := range ports {
			heldBy[portKey(p)] = append(heldBy[portKey(p)], kv.Key)
		}
	}
	plan := allocator.PlanRepair(recKeys, heldBy, a.inRange)
	for _, k := range plan.Free {
		if _, err := a.store.Txn(ctx, storage.Del(k, recRev[k])); err != nil {
			a.log.Warn("repair: free allocation", "key", k, "err", err)
			continue
		}
		rep.Freed = append(rep.Freed, k)
	}
	for _, k := range plan.Restore {
		svcKey := heldBy[k][0]
		ownerName := strings.TrimPrefix(svcKey, ServicePrefix)
		if _, err := a.store.Txn(ctx, storage.Put(k, []byte(ownerName), storage.Absent), storage.Check(svcKey, svcRev[svcKey])); err != nil {
			a.log.Warn("repair: restore allocation", "key", k, "err", err)
			continue
		}
		rep.Restored = append(rep.Restored, k)
	}
	for _, h := range plan.Duplicates {
		rep.Duplicates = append(rep.Duplicates, h.Value)
		a.log.Error("repair: value held by several services", "key", h.Value, "services", h.Owners)
	}
	for _, h := range plan.OutOfRange {
		rep.OutOfRange = append(rep.OutOfRange, h.Value)
		a.log.Warn("repair: value outside the configured range", "key", h.Value, "services", h.Owners)
	}
	if len(rep.Freed)+len(rep.Restored) > 0 {
		a.log.Info("repaired allocations", "freed", len(rep.Freed), "restored", len(rep.Restored))
	}
	return rep, nil
}

func (a *Allocations) inRange(key string) bool {
	switch {
	case strings.HasPrefix(key, IPPrefix):
		ip, err := netip.ParseAddr(strings.TrimPrefix(key, IPPrefix))
		if err != nil {
			return false
		}
		for _, r := range a.ranges {
			if r.Contains(ip) {
				return true
			}
		}
		return false
	case strings.HasPrefix(key, PortPrefix):
		p, err := strconv.Atoi(strings.TrimPrefix(key, PortPrefix))
		return err == nil && a.ports.Contains(p)
	}
	return false
}
