// Package pki creates and keeps the credentials a svcnet cluster needs to run
// over HTTPS: a certificate authority, the API server's serving certificate, an
// admin client certificate with its kubeconfig, and bearer tokens for agents.
//
// Everything lives in the data directory:
//
//	<dataDir>/pki/ca.crt, ca.key            cluster CA (10 years)
//	<dataDir>/pki/serving.crt, serving.key  API server certificate (1 year)
//	<dataDir>/pki/admin.crt, admin.key      admin client certificate (1 year)
//	<dataDir>/pki/tokens                    "<name> <hex sha256 of token>" per line
//	<dataDir>/admin.kubeconfig              written by the caller through WriteKubeconfig
//
// Keys are ECDSA P-256 in PKCS #8 PEM. Private keys, the token file and the
// kubeconfig are mode 0600, certificates 0644, directories created here 0700.
// Every file is written to a temporary name and renamed, so a crash never leaves
// a half-written file behind.
//
// A typical server start:
//
//	b, err := pki.Ensure(pki.Options{DataDir: dir, Hosts: sans, ServiceIP: firstIP})
//	...
//	srv.TLSConfig = b.ServerTLSConfig()
//	err = pki.WriteKubeconfig(pki.KubeconfigPath(dir), url, b.CAPEM, b.AdminCertPEM, b.AdminKeyPEM)
//
// and per request, b.VerifyClient(r.TLS.PeerCertificates) or tokens.Lookup(bearer)
// names the caller.
//
// The package deliberately does not rotate the CA, keep revocation lists, issue
// certificates to anything but the server and the admin, or decide what an
// authenticated identity may do: authorization belongs to the API server.
package pki
