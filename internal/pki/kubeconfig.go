package pki

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeconfigName names the cluster, user and context of a written kubeconfig.
const kubeconfigName = "svcnet"

// WriteKubeconfig writes a kubeconfig at path that reaches serverURL, trusting
// caPEM and authenticating with the client certificate certPEM and key keyPEM,
// all embedded in the file. Its cluster, user and context are named "svcnet",
// and the context is current. The file is replaced atomically with mode 0600;
// its directory is created (mode 0700) if missing. Callers that learn the
// server's port only after binding simply call it again.
func WriteKubeconfig(path, serverURL string, caPEM, certPEM, keyPEM []byte) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[kubeconfigName] = &clientcmdapi.Cluster{
		Server:                   serverURL,
		CertificateAuthorityData: caPEM,
	}
	cfg.AuthInfos[kubeconfigName] = &clientcmdapi.AuthInfo{
		ClientCertificateData: certPEM,
		ClientKeyData:         keyPEM,
	}
	cfg.Contexts[kubeconfigName] = &clientcmdapi.Context{
		Cluster:  kubeconfigName,
		AuthInfo: kubeconfigName,
	}
	cfg.CurrentContext = kubeconfigName

	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return fmt.Errorf("create kubeconfig dir: %w", err)
	}
	err := replaceFile(path, secretMode, func(tmp string) error {
		return clientcmd.WriteToFile(*cfg, tmp)
	})
	if err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}
