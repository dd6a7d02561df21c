package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// TestInvalidRequests sends bad input and checks the exact Status each gets, and
// that nothing partial is stored.
func TestInvalidRequests(t *testing.T) {
	s := startServer(t)
	cfg := s.restConfig()
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	base := cfg.Host + "/api/v1/namespaces/default/services"
	created := mustCreateRaw(t, hc, base, `{"apiVersion":"v1","kind":"Service","metadata":{"name":"exists"},"spec":{"ports":[{"port":80}]}}`)

	big := `{"apiVersion":"v1","kind":"Service","metadata":{"name":"big","annotations":{"a":"` + strings.Repeat("x", 4<<20) + `"}},"spec":{"ports":[{"port":80}]}}`
	tests := []struct {
		name        string
		method, url string
		ctype       string
		body        string
		wantCode    int
		wantReason  metav1.StatusReason
		wantMessage string
	}{
		{name: "malformed json", method: "POST", url: base, body: `{"apiVersion":"v1","kind":"Service",`, wantCode: 400, wantReason: metav1.StatusReasonBadRequest, wantMessage: "the body of the request was in an unknown format"},
		{name: "malformed yaml", method: "POST", url: base, ctype: "application/yaml", body: "apiVersion: v1\nkind: Service\nmetadata: [\n", wantCode: 400, wantReason: metav1.StatusReasonBadRequest, wantMessage: "the body of the request was in an unknown format"},
		{name: "unknown field strict", method: "POST", url: base + "?fieldValidation=Strict", body: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"bogus":1,"ports":[{"port":80}]}}`, wantCode: 400, wantReason: metav1.StatusReasonBadRequest, wantMessage: `strict decoding error: unknown field "spec.bogus"`},
		{name: "duplicate field strict", method: "POST", url: base + "?fieldValidation=Strict", body: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a","name":"b"},"spec":{"ports":[{"port":80}]}}`, wantCode: 400, wantReason: metav1.StatusReasonBadRequest, wantMessage: `strict decoding error: duplicate field "metadata.name"`},
		{name: "wrong type", method: "POST", url: base, body: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"port":"eighty"}]}}`, wantCode: 400, wantReason: metav1.StatusReasonBadRequest, wantMessage: "cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32"},
		{name: "body too large", method: "POST", url: base, body: big, wantCode: 413, wantReason: metav1.StatusReasonRequestEntityTooLarge, wantMessage: "Request entity too large"},
		{name: "invalid name", method: "POST", url: base, body: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"Bad_Name"},"spec":{"ports":[{"port":80}]}}`, wantCode: 422, wantReason: metav1.StatusReasonInvalid, wantMessage: `Service "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a DNS-1035 label must consist of lower case alphanumeric characters or '-'`},
		{name: "wrong kind", method: "POST", url: base, body: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"}}`, wantCode: 400, wantReason: metav1.StatusReasonBadRequest, wantMessage: "the kind in the data (Pod) does not match the expected kind (Service)"},
		{name: "namespace mismatch", method: "POST", url: base, body: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a","namespace":"other"},"spec":{"ports":[{"port":80}]}}`, wantCode: 400, wantReason: metav1.StatusReasonBadRequest, wantMessage: "the namespace of the provided object does not match the namespace sent on the request"},
		{name: "missing namespace", method: "POST", url: cfg.Host + "/api/v1/namespaces/nope/services", body: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"port":80}]}}`, wantCode: 404, wantReason: metav1.StatusReasonNotFound, wantMessage: `namespaces "nope" not found`},
		{name: "stale resourceVersion", method: "PUT", url: base + "/exists", body: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"exists","resourceVersion":"1"},"spec":{"ports":[{"port":81}]}}`, wantCode: 409, wantReason: metav1.StatusReasonConflict, wantMessage: `Operation cannot be fulfilled on services "exists": the object has been modified; please apply your changes to the latest version and try again`},
		{name: "name mismatch on update", method: "PUT", url: base + "/exists", body: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"other"},"spec":{"ports":[{"port":81}]}}`, wantCode: 400, wantReason: metav1.StatusReasonBadRequest, wantMessage: "the name of the object (other) does not match the name on the URL (exists)"},
		{name: "unsupported patch type", method: "PATCH", url: base + "/exists", ctype: "text/plain", body: `x`, wantCode: 415, wantReason: metav1.StatusReasonUnsupportedMediaType, wantMessage: "unknown format"},
		{name: "bad json patch", method: "PATCH", url: base + "/exists", ctype: "application/json-patch+json", body: `[{"op":"replace","path":"/spec/nope/x","value":1}]`, wantCode: 422, wantReason: metav1.StatusReasonInvalid, wantMessage: "the server rejected our request due to an error in our request"},
		{name: "invalid port", method: "POST", url: base, body: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"port":70000}]}}`, wantCode: 422, wantReason: metav1.StatusReasonInvalid, wantMessage: `spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive`},
		{name: "cluster IP out of range", method: "POST", url: base, body: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"clusterIP":"192.168.0.10","ports":[{"port":80}]}}`, wantCode: 422, wantReason: metav1.StatusReasonInvalid, wantMessage: `spec.clusterIPs: Invalid value: ["192.168.0.10"]: failed to allocate IP 192.168.0.10: the provided IP (192.168.0.10) is not in the valid range. The range of valid IPs is 10.96.0.0/12`},
		{name: "cluster IP taken", method: "POST", url: base, body: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"clusterIP":"` + created + `","ports":[{"port":80}]}}`, wantCode: 422, wantReason: metav1.StatusReasonInvalid, wantMessage: `Service "a" is invalid: spec.clusterIPs: Invalid value: ["` + created + `"]: failed to allocate IP ` + created + `: provided IP is already allocated`},
		{name: "dual-stack required on a single-stack cluster", method: "POST", url: base, body: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"ipFamilyPolicy":"RequireDualStack","ports":[{"port":80}]}}`, wantCode: 422, wantReason: metav1.StatusReasonInvalid, wantMessage: `Service "a" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services`},
		{name: "IPv6 cluster IP on an IPv4 cluster", method: "POST", url: base, body: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"clusterIP":"fd00::10","ports":[{"port":80}]}}`, wantCode: 422, wantReason: metav1.StatusReasonInvalid, wantMessage: `Service "a" is invalid: spec.clusterIPs[0]: Invalid value: ["fd00::10"]: IPv6 is not configured on this cluster`},
		{name: "IPv6 family on an IPv4 cluster", method: "POST", url: base, body: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"ipFamilies":["IPv6"],"ports":[{"port":80}]}}`, wantCode: 422, wantReason: metav1.StatusReasonInvalid, wantMessage: `Service "a" is invalid: spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster`},
		{name: "unknown resource", method: "GET", url: cfg.Host + "/api/v1/widgets", wantCode: 404, wantReason: metav1.StatusReasonNotFound, wantMessage: "the server could not find the requested resource"},
		{name: "bad label selector", method: "GET", url: base + "?labelSelector=a%20in%20(", wantCode: 400, wantReason: metav1.StatusReasonBadRequest, wantMessage: "unable to parse requirement"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			ct := tc.ctype
			if ct == "" {
				ct = "application/json"
			}
			req.Header.Set("Content-Type", ct)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			var st metav1.Status
			if err := json.Unmarshal(data, &st); err != nil {
				t.Fatalf("response is not a Status: %v: %s", err, data)
			}
			if resp.StatusCode != tc.wantCode || int(st.Code) != tc.wantCode || st.Kind != "Status" || st.Status != metav1.StatusFailure {
				t.Errorf("HTTP %d, Status code %d kind %q status %q; want %d Failure", resp.StatusCode, st.Code, st.Kind, st.Status, tc.wantCode)
			}
			if st.Reason != tc.wantReason {
				t.Errorf("reason = %q; want %q", st.Reason, tc.wantReason)
			}
			if !strings.Contains(st.Message, tc.wantMessage) {
				t.Errorf("message = %q; want it to contain %q", st.Message, tc.wantMessage)
			}
		})
	}
	list, err := s.client().CoreV1().Services("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, svc := range list.Items {
		names = append(names, svc.Name)
		if svc.Name == "exists" && svc.Spec.Ports[0].Port != 80 {
			t.Errorf("service exists was changed by a failed request: %+v", svc.Spec.Ports)
		}
	}
	if len(names) != 2 {
		t.Errorf("services after bad requests = %v; want only kubernetes and exists", names)
	}
}

func mustCreateRaw(t *testing.T, hc *http.Client, url, body string) (clusterIP string) {
	t.Helper()
	resp, err := hc.Post(url, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, data)
	}
	var obj struct {
		Spec struct {
			ClusterIP string `json:"clusterIP"`
		} `json:"spec"`
	}
	_ = json.Unmarshal(data, &obj)
	return obj.Spec.ClusterIP
}

// TestAuthentication checks that only the health and version endpoints are open.
func TestAuthentication(t *testing.T) {
	s := startServer(t)
	anon := s.anonymous()
	for _, p := range []string{"/livez", "/readyz", "/version"} {
		resp, err := anon.Get(s.url() + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("anonymous GET %s = %d; want 200", p, resp.StatusCode)
		}
	}
	for _, p := range []string{"/api", "/api/v1/namespaces/default/services", "/metrics", "/openapi/v3", "/apis"} {
		resp, err := anon.Get(s.url() + p)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(data), `"reason":"Unauthorized"`) {
			t.Errorf("anonymous GET %s = %d %s; want 401 Unauthorized Status", p, resp.StatusCode, data)
		}
	}
	req, _ := http.NewRequest("GET", s.url()+"/api/v1/services", nil)
	req.Header.Set("Authorization", "Bearer not-a-token")
	resp, err := anon.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("bad bearer token = %d; want 401", resp.StatusCode)
	}
}
