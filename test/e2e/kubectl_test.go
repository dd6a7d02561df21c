package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const webService = `apiVersion: v1
kind: Service
metadata:
  name: web
  labels:
    app: web
    tier: frontend
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 8080
`

const webPod = `apiVersion: v1
kind: Pod
metadata:
  name: web-1
  labels:
    app: web
spec:
  containers:
  - name: web
    image: nginx:1.27
    ports:
    - name: http
      containerPort: 8080
`

func contains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q; want it to contain %q", what, got, w)
		}
	}
}

// TestKubectlVerbs drives the verbs users run day to day with the built-in kubectl.
func TestKubectlVerbs(t *testing.T) {
	s := startServer(t)
	// k runs kubectl without input, kin with a manifest on stdin.
	k := func(args ...string) string { t.Helper(); return s.mustKubectl("", args...) }
	kin := s.mustKubectl

	contains(t, "create -f -", kin(webService, "create", "-f", "-"), "service/web created")
	if r := s.kubectl(webService, "create", "-f", "-"); r.code == 0 || !strings.Contains(r.stderr, `services "web" already exists`) {
		t.Errorf("second create: exit %d stderr %q; want AlreadyExists", r.code, r.stderr)
	}

	t.Run("warnings kube-apiserver gives", func(t *testing.T) {
		headless := `apiVersion: v1
kind: Service
metadata: {name: warned}
spec:
  clusterIP: None
  selector: {app: warned}
  sessionAffinity: ClientIP
  externalName: example.com
  ports: [{port: 80}]
`
		r := s.kubectl(headless, "apply", "-f", "-")
		if r.code != 0 {
			t.Fatalf("apply: %s", r.stderr)
		}
		for _, want := range []string{
			"Warning: spec.SessionAffinity is ignored for headless services",
			`Warning: spec.externalName is ignored when spec.type is not "ExternalName"`,
		} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("apply stderr %q; want %q", r.stderr, want)
			}
		}
		r = s.kubectl("", "get", "endpoints", "-A")
		if want := "Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"; r.code != 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("get endpoints: exit %d stderr %q; want %q", r.code, r.stderr, want)
		}
		if r := s.kubectl("", "get", "svc", "warned"); r.code != 0 || r.stderr != "" {
			t.Errorf("get svc: exit %d stderr %q; want no warning on a read", r.code, r.stderr)
		}
		s.mustKubectl("", "delete", "svc", "warned")
	})

	t.Run("get output formats", func(t *testing.T) {
		contains(t, "get svc", k("get", "svc"), "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "kubernetes", "web", "80/TCP", "<none>")
		contains(t, "get svc -o wide", k("get", "svc", "web", "-o", "wide"), "SELECTOR", "app=web")
		contains(t, "get -o name", k("get", "svc", "web", "-o", "name"), "service/web")
		contains(t, "get -o yaml", k("get", "svc", "web", "-o", "yaml"), "apiVersion: v1", "kind: Service", "clusterIP: 10.", "sessionAffinity: None", "targetPort: 8080")
		var obj map[string]any
		if err := json.Unmarshal([]byte(k("get", "svc", "web", "-o", "json")), &obj); err != nil {
			t.Errorf("get -o json is not JSON: %v", err)
		}
		ip := k("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}")
		if !strings.HasPrefix(ip, "10.") {
			t.Errorf("jsonpath clusterIP = %q; want an address of 10.96.0.0/12", ip)
		}
		contains(t, "get -A", k("get", "svc", "-A"), "NAMESPACE", "default")
		contains(t, "--show-labels", k("get", "svc", "web", "--show-labels"), "LABELS", "app=web,tier=frontend")
		contains(t, "set-based selector", k("get", "svc", "-l", "tier in (frontend,backend),!legacy", "-o", "name"), "service/web")
		if out := k("get", "svc", "-l", "tier notin (frontend)", "-o", "name"); strings.Contains(out, "service/web") {
			t.Errorf("notin selector returned %q", out)
		}
		contains(t, "field selector", k("get", "svc", "--field-selector", "spec.type=ClusterIP,metadata.name=web", "-o", "name"), "service/web")
		if r := s.kubectl("", "get", "svc", "--field-selector", "spec.bogus=x"); r.code == 0 || !strings.Contains(r.stderr, "field label not supported: spec.bogus") {
			t.Errorf("unknown field selector: exit %d stderr %q", r.code, r.stderr)
		}
		contains(t, "get all", k("get", "all"), "service/kubernetes", "service/web")
		contains(t, "get ns", k("get", "ns"), "STATUS", "default", "kube-system", "kube-public", "kube-node-lease", "Active")
	})

	t.Run("describe", func(t *testing.T) {
		contains(t, "describe svc", k("describe", "svc", "web"), "Name:", "web", "Selector:", "app=web", "Type:", "ClusterIP", "IP:", "Port:", "http  80/TCP", "TargetPort:", "8080/TCP", "Session Affinity:", "None")
	})

	t.Run("label annotate patch", func(t *testing.T) {
		k("label", "svc", "web", "env=prod")
		k("annotate", "svc", "web", "owner=team-a")
		k("patch", "svc", "web", "-p", `{"spec":{"ports":[{"name":"http","port":80,"targetPort":9090}]}}`)
		k("patch", "svc", "web", "--type", "merge", "-p", `{"metadata":{"labels":{"merge":"yes"}}}`)
		k("patch", "svc", "web", "--type", "json", "-p", `[{"op":"add","path":"/metadata/labels/json","value":"yes"}]`)
		out := k("get", "svc", "web", "-o", "jsonpath={.metadata.labels.env} {.metadata.annotations.owner} {.spec.ports[0].targetPort} {.metadata.labels.merge} {.metadata.labels.json}")
		if out != "prod team-a 9090 yes yes" {
			t.Errorf("after label/annotate/patches = %q; want %q", out, "prod team-a 9090 yes yes")
		}
		if r := s.kubectl("", "patch", "svc", "web", "-p", `{"spec":{"clusterIP":"10.96.9.9"}}`); r.code == 0 || !strings.Contains(r.stderr, "field is immutable") {
			t.Errorf("patch clusterIP: exit %d stderr %q; want immutable", r.code, r.stderr)
		}
	})

	t.Run("replace and edit", func(t *testing.T) {
		y := k("get", "svc", "web", "-o", "yaml")
		y = strings.Replace(y, "targetPort: 9090", "targetPort: 7070", 1)
		kin(y, "replace", "-f", "-")
		dir := t.TempDir()
		editor := filepath.Join(dir, "editor.sh")
		if err := os.WriteFile(editor, []byte("#!/bin/sh\nsed -i 's/targetPort: 7070/targetPort: 6060/' \"$1\"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("KUBE_EDITOR", editor)
		k("edit", "svc", "web")
		if got := k("get", "svc", "web", "-o", "jsonpath={.spec.ports[0].targetPort}"); got != "6060" {
			t.Errorf("targetPort after replace+edit = %q; want 6060", got)
		}
	})

	t.Run("apply three-way and server-side", func(t *testing.T) {
		m := strings.Replace(webService, "name: web\n", "name: applied\n", 1)
		contains(t, "apply", kin(m, "apply", "-f", "-"), "service/applied created")
		contains(t, "re-apply", kin(m, "apply", "-f", "-"), "service/applied unchanged")
		k("label", "svc", "applied", "live=kept")
		m2 := strings.Replace(m, "    tier: frontend\n", "", 1)
		m2 = strings.Replace(m2, "targetPort: 8080", "targetPort: 8081", 1)
		contains(t, "apply edited", kin(m2, "apply", "-f", "-"), "service/applied configured")
		out := k("get", "svc", "applied", "-o", "jsonpath={.metadata.labels} {.spec.ports[0].targetPort}")
		if !strings.Contains(out, `"live":"kept"`) || strings.Contains(out, "tier") || !strings.Contains(out, "8081") {
			t.Errorf("after three-way apply = %q; want live label kept, tier removed, targetPort 8081", out)
		}
		ss := strings.Replace(webService, "name: web\n", "name: ssa\n", 1)
		contains(t, "apply --server-side", kin(ss, "apply", "--server-side", "-f", "-"), "service/ssa serverside-applied")
		ss2 := strings.Replace(ss, "targetPort: 8080", "targetPort: 8082", 1)
		kin(ss2, "apply", "--server-side", "-f", "-")
		if got := k("get", "svc", "ssa", "-o", "jsonpath={.spec.ports[0].targetPort}"); got != "8082" {
			t.Errorf("server-side apply targetPort = %q; want 8082", got)
		}
		r := s.kubectl(strings.Replace(ss, "targetPort: 8080", "targetPort: 8083", 1), "apply", "--server-side", "--field-manager", "other", "-f", "-")
		if r.code == 0 || !strings.Contains(r.stderr, "conflict") {
			t.Errorf("conflicting server-side apply: exit %d stderr %q; want a conflict", r.code, r.stderr)
		}
		kin(strings.Replace(ss, "targetPort: 8080", "targetPort: 8083", 1), "apply", "--server-side", "--field-manager", "other", "--force-conflicts", "-f", "-")
		if got := k("get", "svc", "ssa", "-o", "jsonpath={.spec.ports[0].targetPort}"); got != "8083" {
			t.Errorf("forced server-side apply targetPort = %q; want 8083", got)
		}
	})

	t.Run("create service subcommands and expose", func(t *testing.T) {
		contains(t, "create service clusterip", k("create", "service", "clusterip", "cip", "--tcp=5678:8080"), "service/cip created")
		contains(t, "create service nodeport", k("create", "service", "nodeport", "np", "--tcp=5678:8080"), "service/np created")
		contains(t, "create service externalname", k("create", "service", "externalname", "ext", "--external-name", "example.org"), "service/ext created")
		np := k("get", "svc", "np", "-o", "jsonpath={.spec.ports[0].nodePort}")
		if len(np) != 5 || np < "30000" || np > "32767" {
			t.Errorf("allocated nodePort = %q; want 30000-32767", np)
		}
		kin(webPod, "create", "-f", "-")
		contains(t, "expose pod", k("expose", "pod", "web-1", "--name", "from-pod", "--port", "80"), "service/from-pod exposed")
		contains(t, "expose svc", k("expose", "svc", "web", "--name", "from-svc", "--port", "81", "--target-port", "8080"), "service/from-svc exposed")
		contains(t, "get pods", k("get", "pods"), "NAME", "READY", "STATUS", "RESTARTS", "AGE", "web-1", "0/1", "Pending")
	})

	t.Run("watch", func(t *testing.T) {
		out := s.run(binary, []string{"kubectl", "--kubeconfig", s.kubeconfig, "get", "svc", "-w", "--request-timeout=3s"}, "")
		contains(t, "get -w", out.stdout, "NAME", "web")
	})

	t.Run("delete", func(t *testing.T) {
		contains(t, "delete -l", k("delete", "svc", "-l", "app=web"), `service "web" deleted`)
		contains(t, "delete --all", k("delete", "svc", "--all"), "deleted")
		out := k("get", "svc", "-o", "name")
		if strings.TrimSpace(out) != "service/kubernetes" {
			// The kubernetes Service is recreated; nothing else is left.
			if strings.Count(strings.TrimSpace(out), "\n") > 0 {
				t.Errorf("after delete --all: %q", out)
			}
		}
	})
	_ = time.Second
}
