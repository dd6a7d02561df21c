package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestSeedExamples applies every manifest of the seed documentation verbatim and
// checks that each behaves as the documentation says.
func TestSeedExamples(t *testing.T) {
	s := startServer(t)
	dir := examplesDir(t)
	s.mustKubectl("", "create", "namespace", "core")

	tests := []struct {
		file       string
		wantCode   int
		wantStdout []string
		wantStderr []string
		// reconfigures is set for manifests that carry a status: kubectl's
		// three-way patch keeps sending it (the server ignores status on the main
		// resource), so every apply reports "configured", as with kube-apiserver.
		reconfigures bool
		check        func(t *testing.T)
	}{
		{
			file:       "externalips-my-service.yaml",
			wantStdout: []string{"service/my-service created"},
			check: func(t *testing.T) {
				out := s.mustKubectl("", "get", "svc", "my-service")
				for _, w := range []string{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "ClusterIP", "80.11.12.10", "80/TCP"} {
					if !strings.Contains(out, w) {
						t.Errorf("kubectl get svc my-service = %q; want it to contain %q", out, w)
					}
				}
			},
		},
		{
			file:       "externalname.yaml",
			wantStdout: []string{"service/my-service created"},
			check: func(t *testing.T) {
				svc, err := s.client().CoreV1().Services("default").Get(context.Background(), "my-service", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if svc.Spec.ClusterIP != "" || svc.Spec.ExternalName != "my.database.example.com" {
					t.Errorf("ExternalName service spec = %+v; want no ClusterIP and externalName my.database.example.com", svc.Spec)
				}
				out := s.mustKubectl("", "get", "svc", "my-service", "--no-headers")
				if !strings.Contains(out, "ExternalName") || !strings.Contains(out, "my.database.example.com") {
					t.Errorf("get svc = %q; want type ExternalName and the external name", out)
				}
			},
		},
		{
			file:       "headless-nginx-with-deployment.yaml",
			wantCode:   1,
			wantStdout: []string{"service/nginx created"},
			wantStderr: []string{`no matches for kind "Deployment" in version "extensions/v1beta1"`},
			check: func(t *testing.T) {
				out := s.mustKubectl("", "get", "svc", "nginx", "--no-headers")
				if !strings.Contains(out, "None") {
					t.Errorf("headless service row = %q; want CLUSTER-IP None", out)
				}
			},
		},
		{
			file:         "loadbalancer-ingress-frontend.yaml",
			wantStdout:   []string{"service/ingress-frontend-svc created"},
			reconfigures: true,
			check: func(t *testing.T) {
				svc, err := s.client().CoreV1().Services("core").Get(context.Background(), "ingress-frontend-svc", metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if np := svc.Spec.Ports[0].NodePort; np < 30000 || np > 32767 {
					t.Errorf("LoadBalancer nodePort = %d; want one allocated from 30000-32767", np)
				}
				if len(svc.Status.LoadBalancer.Ingress) != 0 {
					t.Errorf("status on create = %+v; want it wiped (status is written through services/status)", svc.Status)
				}
				out := s.mustKubectl("", "get", "svc", "-n", "core", "ingress-frontend-svc", "--no-headers")
				if !strings.Contains(out, "<pending>") {
					t.Errorf("get svc = %q; want EXTERNAL-IP <pending>", out)
				}
			},
		},
		{
			file:       "multiport-chatbot.yaml",
			wantStdout: []string{"service/chatbot-svc created"},
			check: func(t *testing.T) {
				out := s.mustKubectl("", "get", "svc", "-n", "core", "chatbot-svc", "--no-headers")
				if !strings.Contains(out, "4000/TCP,8080/TCP") {
					t.Errorf("get svc = %q; want PORT(S) 4000/TCP,8080/TCP", out)
				}
			},
		},
		{
			file:       "nodeport-mattermost.yaml",
			wantCode:   1,
			wantStderr: []string{`The Service "mattermost-svc" is invalid: spec.ports[0].nodePort: Invalid value: 8065: provided port is not in the valid range. The range of valid ports is 30000-32767`},
		},
		{
			file:       "selectorless-with-endpoints.yaml",
			wantStdout: []string{"service/my-service created", "endpoints/my-service created"},
			check: func(t *testing.T) {
				out := s.mustKubectl("", "get", "endpoints", "my-service", "--no-headers")
				if !strings.Contains(out, "1.2.3.4:9376") {
					t.Errorf("get endpoints = %q; want 1.2.3.4:9376", out)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			r := s.kubectl("", "apply", "-f", path)
			if r.code != tc.wantCode {
				t.Fatalf("kubectl apply -f %s: exit %d, want %d\nstdout: %s\nstderr: %s", tc.file, r.code, tc.wantCode, r.stdout, r.stderr)
			}
			for _, w := range tc.wantStdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout = %q; want it to contain %q", r.stdout, w)
				}
			}
			for _, w := range tc.wantStderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr = %q; want it to contain %q", r.stderr, w)
				}
			}
			if tc.check != nil {
				tc.check(t)
			}
			// Re-applying the same manifest changes nothing.
			if tc.wantCode == 0 {
				want := "unchanged"
				if tc.reconfigures {
					want = "configured"
				}
				r2 := s.kubectl("", "apply", "-f", path)
				if r2.code != 0 || !strings.Contains(r2.stdout, want) {
					t.Errorf("second apply: exit %d stdout %q stderr %q; want %s", r2.code, r2.stdout, r2.stderr, want)
				}
			}
			s.kubectl("", "delete", "-f", path, "--ignore-not-found")
		})
	}

	t.Run("nodeport 8065 accepted when the range holds it", func(t *testing.T) {
		s2 := startServer(t, "--service-node-port-range", "8000-9000")
		s2.mustKubectl("", "create", "namespace", "core")
		out := s2.mustKubectl("", "apply", "-f", filepath.Join(dir, "nodeport-mattermost.yaml"))
		if !strings.Contains(out, "service/mattermost-svc created") {
			t.Errorf("apply = %q; want created", out)
		}
		row := s2.mustKubectl("", "get", "svc", "-n", "core", "mattermost-svc", "--no-headers")
		if !strings.Contains(row, "8065:8065/TCP") {
			t.Errorf("get svc = %q; want PORT(S) 8065:8065/TCP", row)
		}
	})
}
