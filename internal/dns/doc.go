// Package dns is svcnet's cluster DNS: the Kubernetes DNS-based service
// discovery specification (schema 1.1.0) answered from an in-memory Index that
// informers keep in step with the API, and everything else forwarded to the
// node's upstream resolvers through a bounded cache.
//
// The hot path is written for speed: queries are read and answered in
// batches (recvmmsg/sendmmsg), parsed and encoded without allocation, and the
// owner of every answer is a compression pointer to the question, so the
// answer keeps the client's spelling. Where the specification is silent it
// does what CoreDNS's kubernetes plugin does (NXDOMAIN versus NODATA, the
// endpoint names of addresses without a hostname, SRV weights, the synthetic
// SOA), so it is a drop-in replacement for kube-dns.
//
// It deliberately does not do DNSSEC, zone transfers (AXFR/IXFR are
// REFUSED), autopath, or serve zones other than the cluster domain and the
// reverse names of cluster addresses; the multicluster and topology-zone
// extensions of CoreDNS are absent.
package dns
