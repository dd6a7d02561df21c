package service

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestExamples runs every Service in testdata (verbatim copies of the project's
// example manifests) through the create path: Default, PrepareForCreate,
// ValidateCreate, then the allocator's family checks and defaulting.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example manifests in testdata (err %v)", err)
	}
	services := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(data, []byte("\n---")) {
			var meta struct{ Kind string }
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				t.Fatalf("%s document %d: %v", file, i, err)
			}
			if meta.Kind != "Service" {
				continue
			}
			services++
			t.Run(filepath.Base(file), func(t *testing.T) {
				var svc corev1.Service
				if err := yaml.UnmarshalStrict(doc, &svc); err != nil {
					t.Fatalf("decode: %v", err)
				}
				if svc.Namespace == "" {
					svc.Namespace = "default" // the server takes it from the request path
				}
				Default(&svc)
				PrepareForCreate(&svc)
				if errs := ValidateCreate(&svc); len(errs) > 0 {
					t.Errorf("ValidateCreate(%s) = %v; want no errors", svc.Name, errs)
				}
				if errs := ValidateClusterFamilies(&svc, nil, []corev1.IPFamily{corev1.IPv4Protocol}); len(errs) > 0 {
					t.Errorf("ValidateClusterFamilies(%s) = %v; want no errors", svc.Name, errs)
				}
				DefaultIPFamilies(&svc, nil, []corev1.IPFamily{corev1.IPv4Protocol})
				if errs := ValidateCreate(&svc); len(errs) > 0 {
					t.Errorf("ValidateCreate(%s) after DefaultIPFamilies = %v; want no errors", svc.Name, errs)
				}
			})
		}
	}
	if services != 7 {
		t.Errorf("found %d example Services; want 7", services)
	}
}
