package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"time"
)

// Options says where the credentials live and what the serving certificate
// must cover.
type Options struct {
	// DataDir holds the pki directory; it is created (mode 0700) if missing.
	DataDir string
	// Hosts are extra names for the serving certificate: IP addresses or DNS
	// names (wildcards allowed). localhost, 127.0.0.1, ::1, the host name and
	// kubernetes, kubernetes.default, kubernetes.default.svc and
	// kubernetes.default.svc.cluster.local are always included.
	Hosts []string
	// ServiceIP is the ClusterIP of the `kubernetes` Service; the zero value
	// adds nothing.
	ServiceIP netip.Addr
}

// Bundle is the cluster's loaded credentials. It is read-only once returned
// by Ensure and safe for concurrent use.
type Bundle struct {
	// CA is the cluster certificate authority; CAPEM its PEM encoding.
	CA    *x509.Certificate
	CAPEM []byte
	// ServingCert is the API server certificate with its key, Leaf set;
	// ServingCertPEM its PEM encoding.
	ServingCert    tls.Certificate
	ServingCertPEM []byte
	// AdminCertPEM and AdminKeyPEM are the admin client credentials, user
	// AdminUser in group AdminGroup.
	AdminCertPEM []byte
	AdminKeyPEM  []byte
}

// Ensure loads the credentials under opts.DataDir, creating whatever is
// missing, and returns them. Existing files are reused unchanged, except:
//
//  1. the serving certificate is reissued when it does not cover every name
//     opts asks for, expires within 30 days, or was not issued by the CA;
//  2. the admin certificate is reissued when it expires within 30 days or was
//     not issued by the CA.
//
// A missing ca.crt makes a new CA (and so new leaf certificates). Ensure
// never replaces an existing CA: an unreadable, expired or keyless one is an
// error for the operator to resolve, since every client trusts it.
func Ensure(opts Options) (*Bundle, error) {
	return ensure(opts, time.Now())
}

func ensure(opts Options, now time.Time) (*Bundle, error) {
	if opts.DataDir == "" {
		return nil, errors.New("data dir is empty")
	}
	sans, err := wantedSANs(opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.DataDir, dirMode); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	dir := pkiDir(opts.DataDir)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("create pki dir: %w", err)
	}
	if err := os.Chmod(dir, dirMode); err != nil {
		return nil, fmt.Errorf("restrict pki dir: %w", err)
	}

	ca, err := ensureCA(opts.DataDir, now)
	if err != nil {
		return nil, err
	}
	serving, err := ensureLeaf(opts.DataDir, servingCertFile, servingKeyFile, ca, func(kp *keyPair) bool {
		return kp.usable(ca.cert, now) && sans.coveredBy(kp.cert)
	}, servingTemplate(now, sans))
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	admin, err := ensureLeaf(opts.DataDir, adminCertFile, adminKeyFile, ca, func(kp *keyPair) bool {
		return kp.usable(ca.cert, now)
	}, adminTemplate(now))
	if err != nil {
		return nil, fmt.Errorf("admin certificate: %w", err)
	}
	return &Bundle{
		CA:             ca.cert,
		CAPEM:          ca.certPEM,
		ServingCert:    serving.tlsCertificate(),
		ServingCertPEM: serving.certPEM,
		AdminCertPEM:   admin.certPEM,
		AdminKeyPEM:    admin.keyPEM,
	}, nil
}

// ensureCA loads the CA, or creates it when ca.crt does not exist. The key is
// always written before the certificate, so an existing ca.crt means a
// complete CA.
func ensureCA(dataDir string, now time.Time) (*keyPair, error) {
	certPath, keyPath := pkiPath(dataDir, caCertFile), pkiPath(dataDir, caKeyFile)
	certPEM, err := os.ReadFile(certPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		ca, err := newSigned(caTemplate(now), nil)
		if err != nil {
			return nil, fmt.Errorf("create CA: %w", err)
		}
		if err := writePair(ca, certPath, keyPath); err != nil {
			return nil, fmt.Errorf("create CA: %w", err)
		}
		return ca, nil
	case err != nil:
		return nil, fmt.Errorf("read CA: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("read CA key: %w", err)
	}
	ca, err := parseKeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load CA from %s: %w", certPath, err)
	}
	if !ca.cert.IsCA {
		return nil, fmt.Errorf("load CA from %s: not a CA certificate", certPath)
	}
	if !now.Before(ca.cert.NotAfter) {
		return nil, fmt.Errorf("load CA from %s: expired on %s", certPath, ca.cert.NotAfter.Format(time.DateOnly))
	}
	return ca, nil
}

// ensureLeaf loads the certificate in certFile/keyFile and returns it when keep
// approves of it; otherwise (missing, unreadable or rejected) it issues a new
// one from tmpl, signed by ca, and writes it.
func ensureLeaf(dataDir, certFile, keyFile string, ca *keyPair, keep func(*keyPair) bool, tmpl *x509.Certificate) (*keyPair, error) {
	certPath, keyPath := pkiPath(dataDir, certFile), pkiPath(dataDir, keyFile)
	if kp, err := loadPair(certPath, keyPath); err == nil && keep(kp) {
		return kp, nil
	}
	kp, err := newSigned(tmpl, ca)
	if err != nil {
		return nil, err
	}
	if err := writePair(kp, certPath, keyPath); err != nil {
		return nil, err
	}
	return kp, nil
}

func loadPair(certPath, keyPath string) (*keyPair, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, err
	}
	return parseKeyPair(certPEM, keyPEM)
}

// writePair writes the key before the certificate (see ensureCA).
func writePair(kp *keyPair, certPath, keyPath string) error {
	if err := writeFileAtomic(keyPath, kp.keyPEM, secretMode); err != nil {
		return err
	}
	return writeFileAtomic(certPath, kp.certPEM, publicMode)
}
