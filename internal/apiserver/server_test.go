package apiserver

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
)

// tokenAuth accepts one bearer token.
type tokenAuth string

func (a tokenAuth) Authenticate(r *http.Request) (string, bool) {
	return "user", r.Header.Get("Authorization") == "Bearer "+string(a)
}

// TestHandlerGate checks which paths need credentials and the operational ones.
func TestHandlerGate(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := startServerWith(t, Config{
		Authenticator: tokenAuth("secret"),
		Registerer:    reg, Gatherer: reg,
		Version: version.Info{GitVersion: "v1.36.0-svcnet"},
		Ready:   func() error { return errors.New("allocations not loaded") },
	})
	tests := []struct {
		name        string
		path        string
		token       string
		wantCode    int
		wantContain string
	}{
		{name: "livez is open", path: "/livez", wantCode: 200, wantContain: "ok"},
		{name: "healthz is open", path: "/healthz", wantCode: 200, wantContain: "ok"},
		{name: "readyz reports", path: "/readyz", wantCode: 500,
			wantContain: "[+]ping ok\n[+]etcd ok\n[-]poststarthook/svcnet-bootstrap failed: reason withheld\nreadyz check failed"},
		{name: "livez verbose", path: "/livez?verbose", wantCode: 200, wantContain: "[+]ping ok\n[+]etcd ok\nlivez check passed\n"},
		{name: "readyz excluding the failing check", path: "/readyz?exclude=poststarthook/svcnet-bootstrap", wantCode: 200, wantContain: "ok"},
		{name: "one check", path: "/readyz/etcd", wantCode: 200, wantContain: "ok"},
		{name: "one failing check says why", path: "/readyz/poststarthook/svcnet-bootstrap", wantCode: 500, wantContain: "internal server error: allocations not loaded"},
		{name: "no such check", path: "/livez/nothing", wantCode: 404},
		{name: "version is open", path: "/version", wantCode: 200, wantContain: "v1.36.0-svcnet"},
		{name: "api needs a token", path: "/api/v1/namespaces", wantCode: 401, wantContain: `"reason":"Unauthorized"`},
		{name: "discovery needs a token", path: "/api", wantCode: 401},
		{name: "wrong token", path: "/api", token: "nope", wantCode: 401},
		{name: "right token", path: "/api/v1/namespaces", token: "secret", wantCode: 200, wantContain: "NamespaceList"},
		{name: "metrics", path: "/metrics", token: "secret", wantCode: 200, wantContain: "svcnet_apiserver_requests_total"},
		{name: "no OpenAPI configured", path: "/openapi/v2", token: "secret", wantCode: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.token != "" {
				headers = []string{"Authorization", "Bearer " + tc.token}
			}
			r := s.do(http.MethodGet, tc.path, "", headers...)
			if r.code != tc.wantCode {
				t.Fatalf("code = %d; want %d (body %s)", r.code, tc.wantCode, r.body)
			}
			if !strings.Contains(string(r.body), tc.wantContain) {
				t.Errorf("body %s does not contain %q", r.body, tc.wantContain)
			}
			if r.code == 401 {
				if st := r.status(t); st.Reason != metav1.StatusReasonUnauthorized {
					t.Errorf("reason = %s; want Unauthorized", st.Reason)
				}
			}
		})
	}
}

// TestMethodNotAllowed checks verbs a path does not serve.
func TestMethodNotAllowed(t *testing.T) {
	s := startServer(t, "m")
	tests := []struct {
		name, method, path, body, contentType string
	}{
		{name: "patch of finalize", method: http.MethodPatch, path: "/api/v1/namespaces/m/finalize", body: `{}`, contentType: "application/merge-patch+json"},
		{name: "delete of a subresource", method: http.MethodDelete, path: "/api/v1/namespaces/m/status"},
		{name: "deletecollection of namespaces", method: http.MethodDelete, path: "/api/v1/namespaces"},
		{name: "unknown method", method: "OPTIONS", path: "/api/v1/namespaces/m/services"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.contentType != "" {
				headers = []string{"Content-Type", tc.contentType}
			}
			r := s.do(tc.method, tc.path, tc.body, headers...)
			if r.code != http.StatusMethodNotAllowed {
				t.Fatalf("code = %d; want 405 (body %s)", r.code, r.body)
			}
			if st := r.status(t); st.Reason != metav1.StatusReasonMethodNotAllowed {
				t.Errorf("reason = %s; want MethodNotAllowed", st.Reason)
			}
		})
	}
}
