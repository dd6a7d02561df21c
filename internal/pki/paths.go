package pki

import "path/filepath"

// File names inside the data directory.
const (
	pkiDirName      = "pki"
	caCertFile      = "ca.crt"
	caKeyFile       = "ca.key"
	servingCertFile = "serving.crt"
	servingKeyFile  = "serving.key"
	adminCertFile   = "admin.crt"
	adminKeyFile    = "admin.key"
	tokensFile      = "tokens"
	kubeconfigFile  = "admin.kubeconfig"
)

// Permissions: only the owner reads secrets or lists the pki directory.
const (
	dirMode    = 0o700
	secretMode = 0o600
	publicMode = 0o644
)

// KubeconfigPath returns where the admin kubeconfig of dataDir lives.
func KubeconfigPath(dataDir string) string {
	return filepath.Join(dataDir, kubeconfigFile)
}

func pkiDir(dataDir string) string { return filepath.Join(dataDir, pkiDirName) }

func pkiPath(dataDir, name string) string { return filepath.Join(dataDir, pkiDirName, name) }

// TokensPath returns the file that holds the hashes of dataDir's join tokens.
func TokensPath(dataDir string) string { return pkiPath(dataDir, tokensFile) }
