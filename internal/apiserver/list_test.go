package apiserver

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// seedPaging creates services a..e in namespace "page" (tier front or back) and one
// in namespace "other".
func seedPaging(t *testing.T) *testServer {
	s := startServer(t, "page", "other")
	tiers := map[string]string{"a": "front", "b": "back", "c": "front", "d": "front", "e": "back"}
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		s.createSvc("page", svc(n, map[string]string{"tier": tiers[n]}))
	}
	s.createSvc("other", svc("z", map[string]string{"tier": "front"}))
	return s
}

func names(items []corev1.Service) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Name)
	}
	return out
}

// TestListPaging follows continue tokens with and without selectors.
func TestListPaging(t *testing.T) {
	s := seedPaging(t)
	ctx := context.Background()
	cs := s.client().CoreV1()
	tests := []struct {
		name      string
		ns        string
		opts      metav1.ListOptions
		wantPages [][]string
		// wantRemaining is the remainingItemCount of each page but the last (-1: unset).
		wantRemaining []int64
	}{
		{name: "limit 2", ns: "page", opts: metav1.ListOptions{Limit: 2},
			wantPages: [][]string{{"a", "b"}, {"c", "d"}, {"e"}}, wantRemaining: []int64{3, 1}},
		{name: "limit larger than the set", ns: "page", opts: metav1.ListOptions{Limit: 10},
			wantPages: [][]string{{"a", "b", "c", "d", "e"}}},
		{name: "no limit", ns: "page", wantPages: [][]string{{"a", "b", "c", "d", "e"}}},
		{name: "label selector pages hold at most limit", ns: "page", opts: metav1.ListOptions{Limit: 2, LabelSelector: "tier=front"},
			wantPages: [][]string{{"a", "c"}, {"d"}}, wantRemaining: []int64{-1}},
		{name: "label selector limit 1", ns: "page", opts: metav1.ListOptions{Limit: 1, LabelSelector: "tier=back"},
			wantPages: [][]string{{"b"}, {"e"}}, wantRemaining: []int64{-1}},
		{name: "all namespaces", ns: "", opts: metav1.ListOptions{Limit: 4},
			wantPages: [][]string{{"z", "a", "b", "c"}, {"d", "e"}}, wantRemaining: []int64{2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			var pages [][]string
			var rv string
			for i := 0; ; i++ {
				list, err := cs.Services(tc.ns).List(ctx, opts)
				if err != nil {
					t.Fatalf("page %d: %v", i, err)
				}
				if opts.Limit > 0 && int64(len(list.Items)) > opts.Limit {
					t.Errorf("page %d has %d items; limit is %d", i, len(list.Items), opts.Limit)
				}
				if i == 0 {
					rv = list.ResourceVersion
				} else if list.ResourceVersion != rv {
					t.Errorf("page %d resourceVersion = %s; want the first page's %s", i, list.ResourceVersion, rv)
				}
				pages = append(pages, names(list.Items))
				if list.Continue == "" {
					if list.RemainingItemCount != nil {
						t.Errorf("last page has remainingItemCount %d", *list.RemainingItemCount)
					}
					break
				}
				if i < len(tc.wantRemaining) {
					want := tc.wantRemaining[i]
					switch {
					case want < 0 && list.RemainingItemCount != nil:
						t.Errorf("page %d remainingItemCount = %d; want unset", i, *list.RemainingItemCount)
					case want >= 0 && (list.RemainingItemCount == nil || *list.RemainingItemCount != want):
						t.Errorf("page %d remainingItemCount = %v; want %d", i, list.RemainingItemCount, want)
					}
				}
				opts.Continue = list.Continue
				if i > 10 {
					t.Fatal("too many pages")
				}
			}
			if !slices.EqualFunc(pages, tc.wantPages, slices.Equal) {
				t.Errorf("pages = %v; want %v", pages, tc.wantPages)
			}
		})
	}
}

// TestListContinueIsASnapshot checks that later pages show the collection as it
// was when the first page was read.
func TestListContinueIsASnapshot(t *testing.T) {
	s := seedPaging(t)
	ctx := context.Background()
	cs := s.client().CoreV1().Services("page")
	first, err := cs.List(ctx, metav1.ListOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	s.createSvc("page", svc("bb", nil))
	if err := cs.Delete(ctx, "e", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	rest, err := cs.List(ctx, metav1.ListOptions{Continue: first.Continue})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(rest.Items); !slices.Equal(got, []string{"c", "d", "e"}) {
		t.Errorf("second page = %v; want [c d e] as of the first page", got)
	}
}

// TestListSelectors checks label and field selectors and their errors.
func TestListSelectors(t *testing.T) {
	s := seedPaging(t)
	tests := []struct {
		name       string
		path       string
		query      url.Values
		wantCode   int
		wantNames  []string
		wantReason metav1.StatusReason
		wantMsg    string
	}{
		{name: "equality", query: url.Values{"labelSelector": {"tier=back"}}, wantCode: 200, wantNames: []string{"b", "e"}},
		{name: "inequality", query: url.Values{"labelSelector": {"tier!=back"}}, wantCode: 200, wantNames: []string{"a", "c", "d"}},
		{name: "set in", query: url.Values{"labelSelector": {"tier in (back,middle)"}}, wantCode: 200, wantNames: []string{"b", "e"}},
		{name: "set notin", query: url.Values{"labelSelector": {"tier notin (back)"}}, wantCode: 200, wantNames: []string{"a", "c", "d"}},
		{name: "exists", query: url.Values{"labelSelector": {"tier"}}, wantCode: 200, wantNames: []string{"a", "b", "c", "d", "e"}},
		{name: "does not exist", query: url.Values{"labelSelector": {"!tier"}}, wantCode: 200, wantNames: nil},
		{name: "kube-proxy style", query: url.Values{"labelSelector": {"!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless"}}, wantCode: 200, wantNames: []string{"a", "b", "c", "d", "e"}},
		{name: "field name", query: url.Values{"fieldSelector": {"metadata.name=c"}}, wantCode: 200, wantNames: []string{"c"}},
		{name: "field name negated", query: url.Values{"fieldSelector": {"metadata.name!=c"}}, wantCode: 200, wantNames: []string{"a", "b", "d", "e"}},
		{name: "field type", query: url.Values{"fieldSelector": {"spec.type=ClusterIP"}}, wantCode: 200, wantNames: []string{"a", "b", "c", "d", "e"}},
		{name: "fields and labels", query: url.Values{"fieldSelector": {"metadata.name!=a"}, "labelSelector": {"tier=front"}}, wantCode: 200, wantNames: []string{"c", "d"}},
		{name: "namespace field across namespaces", path: "/api/v1/services", query: url.Values{"fieldSelector": {"metadata.namespace=other"}}, wantCode: 200, wantNames: []string{"z"}},
		{name: "unknown field label", query: url.Values{"fieldSelector": {"spec.selector=x"}}, wantCode: 400, wantReason: metav1.StatusReasonBadRequest, wantMsg: `field label not supported: spec.selector`},
		{name: "bad field selector", query: url.Values{"fieldSelector": {"metadata.name"}}, wantCode: 400, wantReason: metav1.StatusReasonBadRequest, wantMsg: "invalid selector: 'metadata.name'"},
		{name: "bad label selector", query: url.Values{"labelSelector": {"tier in (a"}}, wantCode: 400, wantReason: metav1.StatusReasonBadRequest, wantMsg: "unable to parse requirement: found"},
		{name: "namespace field on namespaces", path: "/api/v1/namespaces", query: url.Values{"fieldSelector": {"metadata.namespace=x"}}, wantCode: 400, wantReason: metav1.StatusReasonBadRequest},
		{name: "namespace phase", path: "/api/v1/namespaces", query: url.Values{"fieldSelector": {"status.phase=Active,metadata.name=page"}}, wantCode: 200, wantNames: []string{"page"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/api/v1/namespaces/page/services"
			}
			r := s.do(http.MethodGet, path+"?"+tc.query.Encode(), "")
			if r.code != tc.wantCode {
				t.Fatalf("code = %d; want %d (body %s)", r.code, tc.wantCode, r.body)
			}
			if r.code != 200 {
				st := r.status(t)
				if st.Reason != tc.wantReason || !strings.HasPrefix(st.Message, tc.wantMsg) {
					t.Errorf("status = %s %q; want %s starting with %q", st.Reason, st.Message, tc.wantReason, tc.wantMsg)
				}
				return
			}
			var list metav1.PartialObjectMetadataList
			r.into(t, &list)
			var got []string
			for _, it := range list.Items {
				got = append(got, it.Name)
			}
			if !slices.Equal(got, tc.wantNames) {
				t.Errorf("names = %v; want %v", got, tc.wantNames)
			}
		})
	}
}

// TestListResourceVersion checks resourceVersion and resourceVersionMatch handling.
func TestListResourceVersion(t *testing.T) {
	s := seedPaging(t)
	ctx := context.Background()
	cs := s.client().CoreV1().Services("page")
	before, err := cs.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	beforeRV, _ := strconv.ParseInt(before.ResourceVersion, 10, 64)
	future := strconv.FormatInt(beforeRV+1000, 10)
	const path = "/api/v1/namespaces/page/services"
	tests := []struct {
		name       string
		query      url.Values
		wantCode   int
		wantNames  []string
		wantReason metav1.StatusReason
		wantMsg    string
	}{
		{name: "latest", query: url.Values{}, wantCode: 200, wantNames: []string{"b", "c", "d", "e"}},
		{name: "any", query: url.Values{"resourceVersion": {"0"}}, wantCode: 200, wantNames: []string{"b", "c", "d", "e"}},
		{name: "not older than", query: url.Values{"resourceVersion": {before.ResourceVersion}, "resourceVersionMatch": {"NotOlderThan"}}, wantCode: 200, wantNames: []string{"b", "c", "d", "e"}},
		{name: "exact shows the past", query: url.Values{"resourceVersion": {before.ResourceVersion}, "resourceVersionMatch": {"Exact"}}, wantCode: 200, wantNames: []string{"a", "b", "c", "d", "e"}},
		{name: "exact pages keep the past", query: url.Values{"resourceVersion": {before.ResourceVersion}, "resourceVersionMatch": {"Exact"}, "limit": {"1"}}, wantCode: 200, wantNames: []string{"a"}},
		{name: "invalid resourceVersion", query: url.Values{"resourceVersion": {"abc"}}, wantCode: 400, wantReason: metav1.StatusReasonBadRequest},
		{name: "exact invalid", query: url.Values{"resourceVersion": {"abc"}, "resourceVersionMatch": {"Exact"}}, wantCode: 400, wantReason: metav1.StatusReasonBadRequest},
		{name: "exact zero", query: url.Values{"resourceVersion": {"0"}, "resourceVersionMatch": {"Exact"}}, wantCode: 422, wantReason: metav1.StatusReasonInvalid, wantMsg: `resourceVersionMatch "exact" is forbidden for resourceVersion "0"`},
		{name: "match without resourceVersion", query: url.Values{"resourceVersionMatch": {"Exact"}}, wantCode: 422, wantReason: metav1.StatusReasonInvalid, wantMsg: "resourceVersionMatch is forbidden unless resourceVersion is provided"},
		{name: "unknown match", query: url.Values{"resourceVersion": {"1"}, "resourceVersionMatch": {"Newest"}}, wantCode: 422, wantReason: metav1.StatusReasonInvalid},
		{name: "exact in the future", query: url.Values{"resourceVersion": {future}, "resourceVersionMatch": {"Exact"}}, wantCode: 504, wantReason: metav1.StatusReasonTimeout, wantMsg: "Too large resource version"},
		{name: "sendInitialEvents on list", query: url.Values{"sendInitialEvents": {"true"}}, wantCode: 422, wantReason: metav1.StatusReasonInvalid, wantMsg: "sendInitialEvents is forbidden for list"},
		{name: "continue with resourceVersion", query: url.Values{"continue": {"x"}, "resourceVersion": {"5"}}, wantCode: 400, wantReason: metav1.StatusReasonBadRequest, wantMsg: "specifying resource version is not allowed when using continue"},
		{name: "invalid continue", query: url.Values{"continue": {"not-a-token"}}, wantCode: 400, wantReason: metav1.StatusReasonBadRequest},
		{name: "negative limit", query: url.Values{"limit": {"-1"}}, wantCode: 200, wantNames: []string{"b", "c", "d", "e"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(http.MethodGet, path+"?"+tc.query.Encode(), "")
			if r.code != tc.wantCode {
				t.Fatalf("code = %d; want %d (body %s)", r.code, tc.wantCode, r.body)
			}
			if r.code != 200 {
				st := r.status(t)
				if st.Reason != tc.wantReason || !strings.Contains(st.Message, tc.wantMsg) {
					t.Errorf("status = %s %q; want %s containing %q", st.Reason, st.Message, tc.wantReason, tc.wantMsg)
				}
				return
			}
			var list corev1.ServiceList
			r.into(t, &list)
			if got := names(list.Items); !slices.Equal(got, tc.wantNames) {
				t.Errorf("names = %v; want %v", got, tc.wantNames)
			}
		})
	}

	t.Run("exact compacted", func(t *testing.T) {
		rev, err := s.store.Revision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.store.Compact(ctx, rev); err != nil {
			t.Fatal(err)
		}
		r := s.do(http.MethodGet, path+"?resourceVersionMatch=Exact&resourceVersion="+before.ResourceVersion, "")
		st := r.status(t)
		if r.code != 410 || st.Reason != metav1.StatusReasonExpired || !strings.Contains(st.Message, "too old") {
			t.Errorf("got %d %s %q; want 410 Expired about a too old resourceVersion", r.code, st.Reason, st.Message)
		}
		if strings.Contains(st.Message, "continue") {
			t.Errorf("message %q talks about continue tokens; the request had none", st.Message)
		}
	})
}
