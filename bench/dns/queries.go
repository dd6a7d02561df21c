package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// qtype is one kind of query, run as its own dnsperf pass.
type qtype struct {
	key, title string
	rcode      int // what every answer must have
}

var qtypes = []qtype{
	{"a", "A, ClusterIP Service", rcodeSuccess},
	{"srv", "SRV, named port of a ClusterIP Service", rcodeSuccess},
	{"headless", "A, headless Service", rcodeSuccess},
	{"nxdomain", "A, missing Service in an existing namespace (NXDOMAIN)", rcodeNXDomain},
	{"ptr", "PTR, ClusterIP", rcodeSuccess},
}

// query is one line of a query file, with what a correct answer holds.
type query struct {
	name string
	typ  int
	want []string // sorted answer data of type typ; nil for NXDOMAIN
}

func (q query) line() string {
	t := map[int]string{typeA: "A", typeSRV: "SRV", typePTR: "PTR"}[q.typ]
	return strings.TrimSuffix(q.name, ".") + " " + t
}

// makeQuery draws one random query of kind k from what was filled.
func (f *filled) makeQuery(k string, r *rand.Rand) query {
	l := f.l
	// A random Service index that is (or is not) headless.
	pick := func(headless bool) int {
		for {
			if i := r.IntN(l.services); l.headless(i) == headless {
				return i
			}
		}
	}
	switch k {
	case "a":
		i := pick(false)
		return query{name: l.fqdn(i), typ: typeA, want: []string{f.clusterIPs[i]}}
	case "srv":
		i := pick(false)
		port := servicePorts[r.IntN(len(servicePorts))].Name
		return query{name: "_" + port + "._tcp." + l.fqdn(i), typ: typeSRV, want: []string{l.fqdn(i)}}
	case "headless":
		i := pick(true)
		var ips []string
		for _, g := range l.podsOf(i) {
			ips = append(ips, podIP(g))
		}
		slices.Sort(ips)
		return query{name: l.fqdn(i), typ: typeA, want: ips}
	case "nxdomain":
		// A name no Service has, in a namespace that exists.
		i := r.IntN(l.services)
		return query{name: fmt.Sprintf("missing-%05d.%s.svc.cluster.local.", i, l.namespace(i)), typ: typeA}
	case "ptr":
		i := pick(false)
		return query{name: reverseName(f.clusterIPs[i]), typ: typePTR, want: []string{l.fqdn(i)}}
	}
	panic("unknown query kind " + k)
}

// writeQueryFiles writes one dnsperf input file per query kind into dir, n
// random queries each, and returns their paths by kind.
func (f *filled) writeQueryFiles(dir string, n int, seed uint64) (map[string]string, error) {
	paths := map[string]string{}
	for ki, k := range qtypes {
		r := rand.New(rand.NewPCG(seed, uint64(ki)))
		path := filepath.Join(dir, "queries-"+k.key+".txt")
		file, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		w := bufio.NewWriter(file)
		for range n {
			fmt.Fprintln(w, f.makeQuery(k.key, r).line())
		}
		if err := w.Flush(); err != nil {
			file.Close()
			return nil, err
		}
		if err := file.Close(); err != nil {
			return nil, err
		}
		paths[k.key] = path
	}
	return paths, nil
}

// checkAnswers sends n random queries of every kind to server and compares
// each reply with what was filled; it returns the first mismatch.
func (f *filled) checkAnswers(server string, n int, seed uint64) error {
	for ki, k := range qtypes {
		r := rand.New(rand.NewPCG(seed+1000, uint64(ki)))
		for range n {
			q := f.makeQuery(k.key, r)
			rep, err := exchange(server, q.name, q.typ, 2*time.Second)
			if err != nil {
				return fmt.Errorf("%s %s: %w", q.name, k.key, err)
			}
			got := rep.of(q.typ)
			slices.Sort(got)
			if rep.rcode != k.rcode || !slices.Equal(got, q.want) {
				return fmt.Errorf("%s (%s): got %s %v, want %s %v", q.name, k.key, rcodeName(rep.rcode), got, rcodeName(k.rcode), q.want)
			}
		}
	}
	return nil
}
