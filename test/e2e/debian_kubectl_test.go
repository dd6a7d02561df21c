package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// The tests in this file drive Debian's kubectl 1.20 (package kubernetes-client)
// through the same journeys as the built-in kubectl. That client differs from a
// current one where it matters to the server: it validates manifests and computes
// strategic merge patches from the protobuf OpenAPI v2 document, it reads the
// Endpoints object (not EndpointSlices) in describe, and it knows nothing of
// OpenAPI v3 or aggregated discovery.

// debianMust runs Debian's kubectl, fails the test on a non-zero exit and returns
// stdout.
func debianMust(t *testing.T, s *server, stdin string, args ...string) string {
	t.Helper()
	r := s.debianKubectl(stdin, args...)
	if r.code != 0 {
		t.Fatalf("kubectl-1.20 %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// debianFails runs Debian's kubectl, expects a non-zero exit and returns stderr
// without warnings.
func debianFails(t *testing.T, s *server, stdin string, args ...string) string {
	t.Helper()
	r := s.debianKubectl(stdin, args...)
	if r.code == 0 {
		t.Errorf("kubectl-1.20 %s: exit 0, want a failure\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.stdout, r.stderr)
	}
	return userStderr(r.stderr)
}

// userStderr drops the warnings an old client prints (server warnings, version
// skew) so assertions see only the messages a user acts on.
func userStderr(stderr string) string {
	var keep []string
	for _, line := range strings.Split(stderr, "\n") {
		l := strings.ToLower(strings.TrimSpace(line))
		if l == "" || strings.HasPrefix(l, "warning:") || strings.Contains(l, "version skew") || strings.Contains(l, "version difference") {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

// columnGap separates table columns: kubectl pads with at least three spaces.
var columnGap = regexp.MustCompile(`\s{2,}`)

// parseTable splits kubectl's human-readable output into its header and rows
// keyed by the NAME column.
func parseTable(t *testing.T, out string) (header []string, rows map[string]map[string]string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatalf("empty table output")
	}
	header = columnGap.Split(strings.TrimSpace(lines[0]), -1)
	rows = map[string]map[string]string{}
	for _, line := range lines[1:] {
		cells := columnGap.Split(strings.TrimSpace(line), -1)
		if len(cells) != len(header) {
			t.Errorf("row %q has %d cells; header %q has %d", line, len(cells), header, len(header))
			continue
		}
		row := map[string]string{}
		for i, h := range header {
			row[h] = cells[i]
		}
		rows[row["NAME"]] = row
	}
	return header, rows
}

// checkTable compares a table's header and the named cells of its rows.
func checkTable(t *testing.T, what, out string, wantHeader []string, wantRows map[string]map[string]string) {
	t.Helper()
	header, rows := parseTable(t, out)
	if !slices.Equal(header, wantHeader) {
		t.Errorf("%s header = %q; want %q", what, header, wantHeader)
	}
	for name, cells := range wantRows {
		row, ok := rows[name]
		if !ok {
			t.Errorf("%s: no row %q in\n%s", what, name, out)
			continue
		}
		for col, want := range cells {
			if got := row[col]; got != want {
				t.Errorf("%s: row %s column %s = %q; want %q", what, name, col, got, want)
			}
		}
	}
}

// describeHas checks that describe output has a "Field:   value" line.
func describeHas(t *testing.T, what, out string, fieldValues ...string) {
	t.Helper()
	for i := 0; i+1 < len(fieldValues); i += 2 {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(fieldValues[i]) + `:\s+` + regexp.QuoteMeta(fieldValues[i+1]) + `\s*$`)
		if !re.MatchString(out) {
			t.Errorf("%s: no line %q with value %q in\n%s", what, fieldValues[i]+":", fieldValues[i+1], out)
		}
	}
}

// nameLines returns the sorted lines of `-o name` output.
func nameLines(out string) []string {
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" {
			got = append(got, l)
		}
	}
	slices.Sort(got)
	return got
}

const manualService = `apiVersion: v1
kind: Service
metadata:
  name: manual
spec:
  ports:
  - port: 80
    targetPort: 9376
---
apiVersion: v1
kind: Endpoints
metadata:
  name: manual
subsets:
- addresses:
  - ip: 10.1.2.3
  ports:
  - port: 9376
`

// TestDebianKubectlVerbs drives the day-to-day verbs with Debian's kubectl 1.20 and
// checks what a user sees: messages, table columns and describe fields.
func TestDebianKubectlVerbs(t *testing.T) {
	debianKubectlPath(t)
	s := startServer(t)
	dk := func(args ...string) string { t.Helper(); return debianMust(t, s, "", args...) }
	dkin := func(stdin string, args ...string) string { t.Helper(); return debianMust(t, s, stdin, args...) }

	t.Run("create", func(t *testing.T) {
		contains(t, "create -f -", dkin(webService, "create", "-f", "-"), "service/web created")
		got := debianFails(t, s, webService, "create", "-f", "-")
		want := `Error from server (AlreadyExists): error when creating "STDIN": services "web" already exists`
		if got != want {
			t.Errorf("second create stderr = %q; want %q", got, want)
		}
		contains(t, "create pod", dkin(webPod, "create", "-f", "-"), "pod/web-1 created")
		contains(t, "create namespace", dk("create", "namespace", "team-a"), "namespace/team-a created")
		contains(t, "create service+endpoints", dkin(manualService, "create", "-f", "-"), "service/manual created", "endpoints/manual created")
	})
	t.Run("validation and explain from OpenAPI v2", func(t *testing.T) {
		unknown := strings.Replace(webService, "  selector:\n", "  bogus: 1\n  selector:\n", 1)
		tests := []struct {
			name     string
			manifest string
			want     string
		}{
			{name: "unknown field", manifest: unknown, want: `error: error validating "STDIN": error validating data: ValidationError(Service.spec): unknown field "bogus" in io.k8s.api.core.v1.ServiceSpec; if you choose to ignore these errors, turn validation off with --validate=false`},
			{name: "wrong type", manifest: strings.Replace(webService, "port: 80\n", "port: eighty\n", 1), want: `error: error validating "STDIN": error validating data: ValidationError(Service.spec.ports[0].port): invalid type for io.k8s.api.core.v1.ServicePort.port: got "string", expected "integer"; if you choose to ignore these errors, turn validation off with --validate=false`},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if got := debianFails(t, s, tc.manifest, "create", "--dry-run=server", "-f", "-"); got != tc.want {
					t.Errorf("create = %q; want %q", got, tc.want)
				}
			})
		}
		// With client validation off, the server accepts and warns.
		r := s.debianKubectl(strings.Replace(unknown, "name: web\n", "name: loose\n", 1), "create", "--validate=false", "--dry-run=server", "-f", "-")
		if r.code != 0 || r.stdout != "service/loose created (server dry run)\n" || !strings.Contains(r.stderr, `Warning: unknown field "spec.bogus"`) {
			t.Errorf("create --validate=false: exit %d stdout %q stderr %q; want created (server dry run) and a warning", r.code, r.stdout, r.stderr)
		}
		contains(t, "explain", dk("explain", "svc.spec.ports.targetPort"), "KIND:     Service\n", "VERSION:  v1\n", "FIELD:    targetPort <string>\n")
	})
	ip := dk("get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}")
	if !strings.HasPrefix(ip, "10.") {
		t.Fatalf("clusterIP of web = %q; want one from 10.96.0.0/12", ip)
	}

	t.Run("get tables", func(t *testing.T) {
		svcCols := []string{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"}
		webRow := map[string]string{"TYPE": "ClusterIP", "CLUSTER-IP": ip, "EXTERNAL-IP": "<none>", "PORT(S)": "80/TCP"}
		tests := []struct {
			name       string
			args       []string
			lastTable  bool // the output has one table per kind; check the last
			wantHeader []string
			wantRows   map[string]map[string]string
		}{
			{name: "get svc", args: []string{"get", "svc"}, wantHeader: svcCols, wantRows: map[string]map[string]string{
				"web":        webRow,
				"kubernetes": {"TYPE": "ClusterIP", "CLUSTER-IP": "10.96.0.1", "EXTERNAL-IP": "<none>", "PORT(S)": "443/TCP"},
				"manual":     {"TYPE": "ClusterIP", "PORT(S)": "80/TCP"},
			}},
			{name: "one service", args: []string{"get", "svc", "web"}, wantHeader: svcCols, wantRows: map[string]map[string]string{"web": webRow}},
			{name: "-o wide", args: []string{"get", "svc", "web", "-o", "wide"}, wantHeader: append(slices.Clone(svcCols), "SELECTOR"), wantRows: map[string]map[string]string{
				"web": {"TYPE": "ClusterIP", "PORT(S)": "80/TCP", "SELECTOR": "app=web"},
			}},
			{name: "--show-labels", args: []string{"get", "svc", "--show-labels"}, wantHeader: append(slices.Clone(svcCols), "LABELS"), wantRows: map[string]map[string]string{
				"web":        {"LABELS": "app=web,tier=frontend"},
				"kubernetes": {"LABELS": "component=apiserver,provider=kubernetes"},
				"manual":     {"LABELS": "<none>"},
			}},
			{name: "-A", args: []string{"get", "svc", "-A"}, wantHeader: append([]string{"NAMESPACE"}, svcCols...), wantRows: map[string]map[string]string{
				"web":        {"NAMESPACE": "default", "TYPE": "ClusterIP", "PORT(S)": "80/TCP"},
				"kubernetes": {"NAMESPACE": "default", "CLUSTER-IP": "10.96.0.1"},
			}},
			{name: "get pods", args: []string{"get", "pods"}, wantHeader: []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE"}, wantRows: map[string]map[string]string{
				"web-1": {"READY": "0/1", "STATUS": "Pending", "RESTARTS": "0"},
			}},
			{name: "get pods -o wide", args: []string{"get", "pods", "-o", "wide"}, wantHeader: []string{"NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"}, wantRows: map[string]map[string]string{
				"web-1": {"STATUS": "Pending", "IP": "<none>", "NODE": "<none>"},
			}},
			{name: "get ns", args: []string{"get", "ns"}, wantHeader: []string{"NAME", "STATUS", "AGE"}, wantRows: map[string]map[string]string{
				"default": {"STATUS": "Active"}, "kube-system": {"STATUS": "Active"}, "team-a": {"STATUS": "Active"},
			}},
			{name: "get endpoints", args: []string{"get", "endpoints", "manual"}, wantHeader: []string{"NAME", "ENDPOINTS", "AGE"}, wantRows: map[string]map[string]string{
				"manual": {"ENDPOINTS": "10.1.2.3:9376"},
			}},
			{name: "get all", args: []string{"get", "all"}, lastTable: true, wantHeader: svcCols, wantRows: map[string]map[string]string{
				"service/web": {"TYPE": "ClusterIP", "PORT(S)": "80/TCP"},
			}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				out := dk(tc.args...)
				if tc.lastTable {
					out = out[strings.LastIndex(out, "NAME "):]
				}
				checkTable(t, strings.Join(tc.args, " "), out, tc.wantHeader, tc.wantRows)
			})
		}
	})

	t.Run("get output formats", func(t *testing.T) {
		contains(t, "-o yaml", dk("get", "svc", "web", "-o", "yaml"), "apiVersion: v1\n", "kind: Service\n", "  name: web\n", "  clusterIP: "+ip+"\n", "    targetPort: 8080\n", "  sessionAffinity: None\n")
		var svc corev1.Service
		if err := json.Unmarshal([]byte(dk("get", "svc", "web", "-o", "json")), &svc); err != nil {
			t.Fatalf("-o json is not a Service: %v", err)
		}
		if svc.Name != "web" || svc.Spec.ClusterIP != ip || svc.Spec.Ports[0].TargetPort.IntVal != 8080 {
			t.Errorf("-o json = name %q clusterIP %q ports %+v; want web %s targetPort 8080", svc.Name, svc.Spec.ClusterIP, svc.Spec.Ports, ip)
		}
		if got := dk("get", "svc", "web", "-o", "name"); got != "service/web\n" {
			t.Errorf("-o name = %q; want %q", got, "service/web\n")
		}
		if got := dk("get", "svc", "-o", `jsonpath={range .items[*]}{.metadata.name}={.spec.ports[0].port}{" "}{end}`); got != "kubernetes=443 manual=80 web=80 " {
			t.Errorf("list jsonpath = %q; want %q", got, "kubernetes=443 manual=80 web=80 ")
		}
	})

	t.Run("selectors", func(t *testing.T) {
		tests := []struct {
			name string
			args []string
			want []string
		}{
			{name: "equality", args: []string{"get", "svc", "-l", "app=web"}, want: []string{"service/web"}},
			{name: "set-based in", args: []string{"get", "svc", "-l", "tier in (frontend,backend),!legacy"}, want: []string{"service/web"}},
			{name: "set-based notin matches unlabelled", args: []string{"get", "svc", "-l", "tier notin (frontend)"}, want: []string{"service/kubernetes", "service/manual"}},
			{name: "exists", args: []string{"get", "svc", "-l", "tier"}, want: []string{"service/web"}},
			{name: "does not exist", args: []string{"get", "svc", "-l", "!tier,!component"}, want: []string{"service/manual"}},
			{name: "field selector", args: []string{"get", "svc", "--field-selector", "spec.type=ClusterIP,metadata.name!=kubernetes"}, want: []string{"service/manual", "service/web"}},
			{name: "all namespaces with label", args: []string{"get", "svc", "-A", "-l", "component=apiserver"}, want: []string{"service/kubernetes"}},
			{name: "pod phase", args: []string{"get", "pods", "--field-selector", "status.phase=Pending"}, want: []string{"pod/web-1"}},
			{name: "no match", args: []string{"get", "pods", "--field-selector", "status.phase=Running"}, want: nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got := nameLines(dk(append(tc.args, "-o", "name")...))
				if !slices.Equal(got, tc.want) {
					t.Errorf("kubectl %s = %q; want %q", strings.Join(tc.args, " "), got, tc.want)
				}
			})
		}
		r := s.debianKubectl("", "get", "pods", "--field-selector", "status.phase=Running")
		if r.code != 0 || userStderr(r.stderr) != "No resources found in default namespace." {
			t.Errorf("empty get: exit %d stderr %q; want %q", r.code, r.stderr, "No resources found in default namespace.")
		}
		contains(t, "unknown field selector", debianFails(t, s, "", "get", "svc", "--field-selector", "spec.bogus=x"), "Error from server (BadRequest)", "field label not supported: spec.bogus")
		if got, want := debianFails(t, s, "", "get", "svc", "nope"), `Error from server (NotFound): services "nope" not found`; got != want {
			t.Errorf("get missing = %q; want %q", got, want)
		}
	})

	t.Run("describe", func(t *testing.T) {
		describeHas(t, "describe svc web", dk("describe", "svc", "web"),
			"Name", "web", "Namespace", "default", "Labels", "app=web", "Selector", "app=web", "Type", "ClusterIP",
			"IP", ip, "Port", "http  80/TCP", "TargetPort", "8080/TCP", "Endpoints", "<none>", "Session Affinity", "None")
		// 1.20 reads the Endpoints object itself for the Endpoints line.
		describeHas(t, "describe svc manual", dk("describe", "svc", "manual"),
			"Selector", "<none>", "Port", "<unset>  80/TCP", "TargetPort", "9376/TCP", "Endpoints", "10.1.2.3:9376")
		describeHas(t, "describe pod", dk("describe", "pod", "web-1"), "Name", "web-1", "Node", "<none>", "Labels", "app=web", "Status", "Pending")
		describeHas(t, "describe ns", dk("describe", "ns", "team-a"), "Name", "team-a", "Status", "Active")
	})

	t.Run("label annotate patch", func(t *testing.T) {
		tests := []struct {
			name       string
			args       []string
			wantStdout string
			wantStderr string // set when the command must fail
		}{
			{name: "label", args: []string{"label", "svc", "web", "env=prod"}, wantStdout: "service/web labeled\n"},
			{name: "label without overwrite", args: []string{"label", "svc", "web", "env=dev"}, wantStderr: "error: 'env' already has a value (prod), and --overwrite is false"},
			{name: "label overwrite", args: []string{"label", "svc", "web", "env=dev", "--overwrite"}, wantStdout: "service/web labeled\n"},
			{name: "label by selector", args: []string{"label", "svc", "-l", "tier=frontend", "color=blue"}, wantStdout: "service/web labeled\n"},
			{name: "remove label", args: []string{"label", "svc", "web", "color-"}, wantStdout: "service/web labeled\n"},
			{name: "annotate", args: []string{"annotate", "svc", "web", "owner=team-a"}, wantStdout: "service/web annotated\n"},
			{name: "strategic patch", args: []string{"patch", "svc", "web", "-p", `{"spec":{"ports":[{"port":80,"targetPort":9090}]}}`}, wantStdout: "service/web patched\n"},
			{name: "same patch again", args: []string{"patch", "svc", "web", "-p", `{"spec":{"ports":[{"port":80,"targetPort":9090}]}}`}, wantStdout: "service/web patched (no change)\n"},
			{name: "merge patch", args: []string{"patch", "svc", "web", "--type", "merge", "-p", `{"metadata":{"labels":{"merge":"yes"}}}`}, wantStdout: "service/web patched\n"},
			{name: "json patch", args: []string{"patch", "svc", "web", "--type", "json", "-p", `[{"op":"add","path":"/metadata/labels/json","value":"yes"}]`}, wantStdout: "service/web patched\n"},
			{name: "immutable clusterIP", args: []string{"patch", "svc", "web", "-p", `{"spec":{"clusterIP":"10.96.9.9"}}`}, wantStderr: `The Service "web" is invalid`},
			// kube-apiserver answers a JSON patch whose test fails with a bare 422,
			// which kubectl prints as below.
			{name: "failing json patch test", args: []string{"patch", "svc", "web", "--type", "json", "-p", `[{"op":"test","path":"/metadata/labels/env","value":"prod"}]`}, wantStderr: "The request is invalid"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := s.debianKubectl("", tc.args...)
				if tc.wantStderr != "" {
					if r.code == 0 || !strings.Contains(userStderr(r.stderr), tc.wantStderr) {
						t.Errorf("kubectl %s: exit %d stderr %q; want a failure containing %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.wantStderr)
					}
					return
				}
				if r.code != 0 || r.stdout != tc.wantStdout {
					t.Errorf("kubectl %s: exit %d stdout %q stderr %q; want %q", strings.Join(tc.args, " "), r.code, r.stdout, r.stderr, tc.wantStdout)
				}
			})
		}
		contains(t, "immutable clusterIP message", debianFails(t, s, "", "patch", "svc", "web", "-p", `{"spec":{"clusterIP":"10.96.9.9"}}`), "spec.clusterIP", "field is immutable")
		got := dk("get", "svc", "web", "-o", "jsonpath={.metadata.labels.env} {.metadata.labels.color} {.metadata.annotations.owner} {.spec.ports[0].targetPort} {.spec.ports[0].name} {.metadata.labels.merge} {.metadata.labels.json}")
		if want := "dev  team-a 9090 http yes yes"; got != want {
			t.Errorf("after label/annotate/patches = %q; want %q", got, want)
		}
	})

	t.Run("replace and edit", func(t *testing.T) {
		live := dk("get", "svc", "web", "-o", "yaml")
		contains(t, "replace", dkin(strings.Replace(live, "targetPort: 9090", "targetPort: 7070", 1), "replace", "-f", "-"), "service/web replaced")
		// The same YAML again carries the old resourceVersion: a conflict.
		stale := debianFails(t, s, strings.Replace(live, "targetPort: 9090", "targetPort: 7171", 1), "replace", "-f", "-")
		want := `Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on services "web": the object has been modified; please apply your changes to the latest version and try again`
		if stale != want {
			t.Errorf("stale replace = %q; want %q", stale, want)
		}
		dir := t.TempDir()
		editor := filepath.Join(dir, "editor.sh")
		if err := os.WriteFile(editor, []byte("#!/bin/sh\nsed -i 's/targetPort: 7070/targetPort: 6060/' \"$1\"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("KUBE_EDITOR", editor)
		contains(t, "edit", dk("edit", "svc", "web"), "service/web edited")
		if got := dk("get", "svc", "web", "-o", "jsonpath={.spec.ports[0].targetPort}"); got != "6060" {
			t.Errorf("targetPort after replace+edit = %q; want 6060", got)
		}
		t.Setenv("KUBE_EDITOR", "true")
		r := s.debianKubectl("", "edit", "svc", "web")
		if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "Edit cancelled, no changes made.") {
			t.Errorf("edit without change: exit %d stdout %q stderr %q; want Edit cancelled", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("repeated client-side apply", func(t *testing.T) {
		m := strings.Replace(webService, "name: web\n", "name: applied\n", 1)
		steps := []struct {
			name     string
			manifest string
			before   []string // kubectl args run before the apply, as edits by other hands
			want     string
			check    string // jsonpath expression
			wantLive string
		}{
			{name: "create", manifest: m, want: "service/applied created\n", check: "{.spec.ports[0].targetPort}", wantLive: "8080"},
			{name: "unchanged", manifest: m, want: "service/applied unchanged\n"},
			{name: "live label survives", manifest: m, before: []string{"label", "svc", "applied", "live=kept"}, want: "service/applied unchanged\n", check: "{.metadata.labels.live}", wantLive: "kept"},
			{name: "live change to an applied field is reverted", manifest: m, before: []string{"patch", "svc", "applied", "-p", `{"spec":{"ports":[{"port":80,"targetPort":9999}]}}`}, want: "service/applied configured\n", check: "{.spec.ports[0].targetPort}", wantLive: "8080"},
			{
				name:     "edited manifest: label dropped, port changed and added",
				manifest: strings.Replace(strings.Replace(m, "    tier: frontend\n", "", 1), "    targetPort: 8080\n", "    targetPort: 8081\n  - name: https\n    port: 443\n    targetPort: 8443\n", 1),
				want:     "service/applied configured\n",
				check:    "{.metadata.labels.live} {.metadata.labels.tier}{range .spec.ports[*]} {.port}>{.targetPort}{end}",
				wantLive: "kept  80>8081 443>8443",
			},
			{
				name:     "unchanged after edit",
				manifest: strings.Replace(strings.Replace(m, "    tier: frontend\n", "", 1), "    targetPort: 8080\n", "    targetPort: 8081\n  - name: https\n    port: 443\n    targetPort: 8443\n", 1),
				want:     "service/applied unchanged\n",
			},
			{
				name:     "port removed from the manifest is removed",
				manifest: strings.Replace(strings.Replace(m, "    tier: frontend\n", "", 1), "targetPort: 8080", "targetPort: 8081", 1),
				want:     "service/applied configured\n",
				check:    "{range .spec.ports[*]}{.port}>{.targetPort} {end}",
				wantLive: "80>8081 ",
			},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				if st.before != nil {
					dk(st.before...)
				}
				if got := dkin(st.manifest, "apply", "-f", "-"); got != st.want {
					t.Errorf("apply = %q; want %q", got, st.want)
				}
				if st.check != "" {
					if got := dk("get", "svc", "applied", "-o", "jsonpath="+st.check); got != st.wantLive {
						t.Errorf("live %s = %q; want %q", st.check, got, st.wantLive)
					}
				}
			})
		}
		last := dk("apply", "view-last-applied", "svc", "applied")
		contains(t, "view-last-applied", last, "name: applied", "targetPort: 8081")
		if strings.Contains(last, "443") {
			t.Errorf("view-last-applied still holds the removed port:\n%s", last)
		}
		final := strings.Replace(strings.Replace(m, "    tier: frontend\n", "", 1), "targetPort: 8080", "targetPort: 8081", 1)
		if got := dkin(final, "apply", "-f", "-", "--dry-run=server"); got != "service/applied unchanged (server dry run)\n" {
			t.Errorf("apply --dry-run=server = %q; want unchanged (server dry run)", got)
		}
		if _, err := exec.LookPath("diff"); err == nil {
			if r := s.debianKubectl(final, "diff", "-f", "-"); r.code != 0 || r.stdout != "" {
				t.Errorf("diff of the applied manifest: exit %d stdout %q stderr %q; want exit 0 and no output", r.code, r.stdout, r.stderr)
			}
			r := s.debianKubectl(strings.Replace(final, "targetPort: 8081", "targetPort: 8090", 1), "diff", "-f", "-")
			if r.code != 1 || !strings.Contains(r.stdout, "-    targetPort: 8081\n+    targetPort: 8090\n") {
				t.Errorf("diff of a changed manifest: exit %d stdout %q stderr %q; want exit 1 and the targetPort change", r.code, r.stdout, r.stderr)
			}
		}
	})

	// kubectl 1.20 has --server-side (beta in that release), so it is tested too.
	t.Run("server-side apply", func(t *testing.T) {
		ss := strings.Replace(webService, "name: web\n", "name: ssa\n", 1)
		if got := dkin(ss, "apply", "--server-side", "-f", "-"); got != "service/ssa serverside-applied\n" {
			t.Errorf("apply --server-side = %q; want serverside-applied", got)
		}
		dkin(strings.Replace(ss, "targetPort: 8080", "targetPort: 8082", 1), "apply", "--server-side", "-f", "-")
		if got := dk("get", "svc", "ssa", "-o", "jsonpath={.spec.ports[0].targetPort}"); got != "8082" {
			t.Errorf("targetPort after second server-side apply = %q; want 8082", got)
		}
		other := strings.Replace(ss, "targetPort: 8080", "targetPort: 8083", 1)
		contains(t, "conflict", debianFails(t, s, other, "apply", "--server-side", "--field-manager", "other", "-f", "-"),
			`Apply failed with 1 conflict: conflict with "kubectl": .spec.ports[port=80,protocol="TCP"].targetPort`, "--force-conflicts")
		dkin(other, "apply", "--server-side", "--field-manager", "other", "--force-conflicts", "-f", "-")
		if got := dk("get", "svc", "ssa", "-o", "jsonpath={.spec.ports[0].targetPort} {.metadata.managedFields[*].manager}"); got != "8083 kubectl other" {
			t.Errorf("after forced apply = %q; want %q", got, "8083 kubectl other")
		}
	})

	t.Run("create service and expose", func(t *testing.T) {
		tests := []struct {
			name    string
			args    []string
			want    string
			svc     string
			wantRow map[string]string
			portRe  string // pattern for PORT(S) when it holds an allocated nodePort
		}{
			{name: "clusterip", args: []string{"create", "service", "clusterip", "cip", "--tcp=5678:8080"}, want: "service/cip created\n", svc: "cip", wantRow: map[string]string{"TYPE": "ClusterIP", "EXTERNAL-IP": "<none>", "PORT(S)": "5678/TCP"}},
			{name: "headless", args: []string{"create", "service", "clusterip", "hl", "--clusterip=None"}, want: "service/hl created\n", svc: "hl", wantRow: map[string]string{"TYPE": "ClusterIP", "CLUSTER-IP": "None"}},
			{name: "nodeport", args: []string{"create", "service", "nodeport", "np", "--tcp=5678:8080"}, want: "service/np created\n", svc: "np", wantRow: map[string]string{"TYPE": "NodePort", "EXTERNAL-IP": "<none>"}, portRe: `^5678:3[0-2][0-9]{3}/TCP$`},
			{name: "externalname", args: []string{"create", "service", "externalname", "ext", "--external-name", "example.org"}, want: "service/ext created\n", svc: "ext", wantRow: map[string]string{"TYPE": "ExternalName", "CLUSTER-IP": "<none>", "EXTERNAL-IP": "example.org", "PORT(S)": "<none>"}},
			{name: "expose pod", args: []string{"expose", "pod", "web-1", "--name", "from-pod", "--port", "80"}, want: "service/from-pod exposed\n", svc: "from-pod", wantRow: map[string]string{"TYPE": "ClusterIP", "PORT(S)": "80/TCP", "SELECTOR": "app=web"}},
			{name: "expose service", args: []string{"expose", "svc", "web", "--name", "from-svc", "--port", "81", "--target-port", "8080"}, want: "service/from-svc exposed\n", svc: "from-svc", wantRow: map[string]string{"TYPE": "ClusterIP", "PORT(S)": "81/TCP", "SELECTOR": "app=web"}},
			{name: "expose as nodeport", args: []string{"expose", "svc", "web", "--name", "np2", "--port", "82", "--type", "NodePort"}, want: "service/np2 exposed\n", svc: "np2", wantRow: map[string]string{"TYPE": "NodePort"}, portRe: `^82:3[0-2][0-9]{3}/TCP$`},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if got := dk(tc.args...); got != tc.want {
					t.Errorf("kubectl %s = %q; want %q", strings.Join(tc.args, " "), got, tc.want)
				}
				out := dk("get", "svc", tc.svc, "-o", "wide")
				checkTable(t, "get svc "+tc.svc, out, []string{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"}, map[string]map[string]string{tc.svc: tc.wantRow})
				if tc.portRe != "" {
					_, rows := parseTable(t, out)
					if p := rows[tc.svc]["PORT(S)"]; !regexp.MustCompile(tc.portRe).MatchString(p) {
						t.Errorf("PORT(S) of %s = %q; want it to match %s", tc.svc, p, tc.portRe)
					}
				}
			})
		}
		if got := dk("get", "svc", "from-pod", "from-svc", "-o", "jsonpath={range .items[*]}{.spec.ports[0].targetPort} {end}"); got != "80 8080 " {
			t.Errorf("exposed targetPorts = %q; want %q", got, "80 8080 ")
		}
	})

	t.Run("delete", func(t *testing.T) {
		contains(t, "delete -l", dk("delete", "svc", "-l", "app=web"), `service "web" deleted`, `service "from-svc" deleted`, `service "applied" deleted`)
		if got := nameLines(dk("get", "svc", "-l", "app=web", "-o", "name")); len(got) != 0 {
			t.Errorf("services labelled app=web after delete -l = %q; want none", got)
		}
		if got := dk("delete", "pod", "web-1"); got != "pod \"web-1\" deleted\n" {
			t.Errorf("delete pod = %q", got)
		}
		if got, want := debianFails(t, s, "", "delete", "svc", "nope"), `Error from server (NotFound): services "nope" not found`; got != want {
			t.Errorf("delete missing = %q; want %q", got, want)
		}
		contains(t, "delete --all", dk("delete", "svc", "--all"), `service "cip" deleted`, `service "ext" deleted`, `service "manual" deleted`)
		// The kubernetes Service may come back (its controller recreates it); nothing else may.
		for _, n := range nameLines(dk("get", "svc", "-o", "name")) {
			if n != "service/kubernetes" {
				t.Errorf("after delete --all, %s is left", n)
			}
		}
		if got := dk("delete", "namespace", "team-a"); got != "namespace \"team-a\" deleted\n" {
			t.Errorf("delete namespace = %q", got)
		}
	})
}

// TestDebianKubectlExamples applies every seed manifest with Debian's kubectl 1.20,
// twice, and looks at the result the way a user would.
func TestDebianKubectlExamples(t *testing.T) {
	debianKubectlPath(t)
	s := startServer(t)
	dir := examplesDir(t)
	debianMust(t, s, "", "create", "namespace", "core")
	dk := func(t *testing.T, args ...string) string { t.Helper(); return debianMust(t, s, "", args...) }
	svcCols := []string{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"}

	tests := []struct {
		file        string
		wantCode    int
		wantStdout  string
		wantStderr  string
		wantReapply string // stdout of the second apply
		check       func(t *testing.T)
	}{
		{
			file:        "externalips-my-service.yaml",
			wantStdout:  "service/my-service created\n",
			wantReapply: "service/my-service unchanged\n",
			check: func(t *testing.T) {
				checkTable(t, "get svc", dk(t, "get", "svc", "my-service"), svcCols, map[string]map[string]string{
					"my-service": {"TYPE": "ClusterIP", "EXTERNAL-IP": "80.11.12.10", "PORT(S)": "80/TCP"},
				})
			},
		},
		{
			file:        "externalname.yaml",
			wantStdout:  "service/my-service created\n",
			wantReapply: "service/my-service unchanged\n",
			check: func(t *testing.T) {
				checkTable(t, "get svc", dk(t, "get", "svc", "my-service"), svcCols, map[string]map[string]string{
					"my-service": {"TYPE": "ExternalName", "CLUSTER-IP": "<none>", "EXTERNAL-IP": "my.database.example.com", "PORT(S)": "<none>"},
				})
				describeHas(t, "describe", dk(t, "describe", "svc", "my-service"), "Type", "ExternalName", "External Name", "my.database.example.com")
			},
		},
		{
			file:        "headless-nginx-with-deployment.yaml",
			wantCode:    1,
			wantStdout:  "service/nginx created\n",
			wantStderr:  `error: unable to recognize "` + filepath.Join(dir, "headless-nginx-with-deployment.yaml") + `": no matches for kind "Deployment" in version "extensions/v1beta1"`,
			wantReapply: "service/nginx unchanged\n",
			check: func(t *testing.T) {
				checkTable(t, "get svc", dk(t, "get", "svc", "nginx", "-o", "wide"), append(slices.Clone(svcCols), "SELECTOR"), map[string]map[string]string{
					"nginx": {"TYPE": "ClusterIP", "CLUSTER-IP": "None", "PORT(S)": "80/TCP", "SELECTOR": "app=nginx"},
				})
			},
		},
		{
			// The manifest carries a status, which the three-way patch keeps
			// sending; the server ignores it, so every apply says configured, as
			// with kube-apiserver.
			file:        "loadbalancer-ingress-frontend.yaml",
			wantStdout:  "service/ingress-frontend-svc created\n",
			wantReapply: "service/ingress-frontend-svc configured\n",
			check: func(t *testing.T) {
				out := dk(t, "get", "svc", "-n", "core", "ingress-frontend-svc")
				checkTable(t, "get svc", out, svcCols, map[string]map[string]string{
					"ingress-frontend-svc": {"TYPE": "LoadBalancer", "EXTERNAL-IP": "<pending>"},
				})
				_, rows := parseTable(t, out)
				if p := rows["ingress-frontend-svc"]["PORT(S)"]; !regexp.MustCompile(`^3000:3[0-2][0-9]{3}/TCP$`).MatchString(p) {
					t.Errorf("PORT(S) = %q; want 3000:<allocated nodePort>/TCP", p)
				}
			},
		},
		{
			file:        "multiport-chatbot.yaml",
			wantStdout:  "service/chatbot-svc created\n",
			wantReapply: "service/chatbot-svc unchanged\n",
			check: func(t *testing.T) {
				checkTable(t, "get svc", dk(t, "get", "svc", "-n", "core", "chatbot-svc"), svcCols, map[string]map[string]string{
					"chatbot-svc": {"TYPE": "ClusterIP", "PORT(S)": "4000/TCP,8080/TCP"},
				})
				describeHas(t, "describe", dk(t, "describe", "svc", "-n", "core", "chatbot-svc"), "Port", "slack-auth  4000/TCP", "Port", "msteams-auth  8080/TCP")
			},
		},
		{
			file:        "nodeport-mattermost.yaml",
			wantCode:    1,
			wantStderr:  `The Service "mattermost-svc" is invalid: spec.ports[0].nodePort: Invalid value: 8065: provided port is not in the valid range. The range of valid ports is 30000-32767`,
			wantReapply: "",
		},
		{
			// The live Endpoints gains the defaulted protocol, and subsets are
			// replaced as a whole by a strategic merge patch, so re-applying it
			// reports configured (kube-apiserver behaves the same).
			file:        "selectorless-with-endpoints.yaml",
			wantStdout:  "service/my-service created\nendpoints/my-service created\n",
			wantReapply: "service/my-service unchanged\nendpoints/my-service configured\n",
			check: func(t *testing.T) {
				checkTable(t, "get ep", dk(t, "get", "endpoints", "my-service"), []string{"NAME", "ENDPOINTS", "AGE"}, map[string]map[string]string{
					"my-service": {"ENDPOINTS": "1.2.3.4:9376"},
				})
				describeHas(t, "describe", dk(t, "describe", "svc", "my-service"), "Selector", "<none>", "Endpoints", "1.2.3.4:9376")
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			for i, wantStdout := range []string{tc.wantStdout, tc.wantReapply} {
				r := s.debianKubectl("", "apply", "-f", path)
				stderr := userStderr(r.stderr)
				if r.code != tc.wantCode || r.stdout != wantStdout || stderr != tc.wantStderr {
					t.Errorf("apply #%d -f %s: exit %d stdout %q stderr %q; want exit %d stdout %q stderr %q", i+1, tc.file, r.code, r.stdout, stderr, tc.wantCode, wantStdout, tc.wantStderr)
				}
				if i == 0 && tc.check != nil {
					tc.check(t)
				}
			}
			s.debianKubectl("", "delete", "-f", path, "--ignore-not-found")
		})
	}
}
