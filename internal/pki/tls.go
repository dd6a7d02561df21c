package pki

import (
	"crypto/tls"
	"crypto/x509"
	"slices"
	"time"
)

// ServerTLSConfig returns a new TLS configuration for the API server: TLS 1.2
// or later, the serving certificate, and client certificates optional but,
// when presented, required to chain to the CA. A handshake with a certificate
// from any other issuer fails; a client without one connects and must then
// authenticate some other way (a bearer token). The caller may modify the
// result, for example to set NextProtos.
func (b *Bundle) ServerTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{b.ServingCert},
		ClientCAs:    b.caPool(),
		ClientAuth:   tls.VerifyClientCertIfGiven,
	}
}

// VerifyClient checks a client's certificate chain, leaf first as in
// tls.ConnectionState.PeerCertificates, against the CA and returns the
// identity it carries: the user is the subject common name and the groups are
// its organizations, as in Kubernetes. ok is false when certs is empty, does
// not chain to the CA, is outside its validity period, is not for client
// authentication, or names no user.
func (b *Bundle) VerifyClient(certs []*x509.Certificate) (user string, groups []string, ok bool) {
	if len(certs) == 0 {
		return "", nil, false
	}
	leaf := certs[0]
	intermediates := x509.NewCertPool()
	for _, c := range certs[1:] {
		intermediates.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots:         b.caPool(),
		Intermediates: intermediates,
		CurrentTime:   time.Now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil || leaf.Subject.CommonName == "" {
		return "", nil, false
	}
	return leaf.Subject.CommonName, slices.Clone(leaf.Subject.Organization), true
}

func (b *Bundle) caPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(b.CA)
	return pool
}
