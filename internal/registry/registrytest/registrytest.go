// Package registrytest holds the assertion the registry packages' tests share:
// comparing a validation result with the expected errors by type, field path and,
// where given, detail. It is for tests only and holds no fixtures of any resource.
package registrytest

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// WantErr names one expected validation error. An empty Detail is not checked.
type WantErr struct {
	Type   field.ErrorType
	Field  string
	Detail string
}

// CheckErrs fails t unless got holds exactly the errors in want, in order.
func CheckErrs(t testing.TB, got field.ErrorList, want []WantErr) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d errors %v; want %d %v", len(got), got, len(want), want)
	}
	for i, w := range want {
		g := got[i]
		if g.Type != w.Type || g.Field != w.Field || (w.Detail != "" && g.Detail != w.Detail) {
			t.Errorf("error %d = {%s %s %q}; want {%s %s %q}", i, g.Type, g.Field, g.Detail, w.Type, w.Field, w.Detail)
		}
	}
}
