package endpointslice

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	discoveryv1beta1 "k8s.io/api/discovery/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// maxListed is how many ports or addresses a cell names before summarising.
const maxListed = 3

// TableColumns returns the columns of `kubectl get endpointslices`. The
// descriptions are the ones kube-apiserver serves, taken from the v1beta1 docs.
func TableColumns() []metav1.TableColumnDefinition {
	doc := discoveryv1beta1.EndpointSlice{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name", Description: metav1.ObjectMeta{}.SwaggerDoc()["name"]},
		{Name: "AddressType", Type: "string", Description: doc["addressType"]},
		{Name: "Ports", Type: "string", Description: doc["ports"]},
		{Name: "Endpoints", Type: "string", Description: doc["endpoints"]},
		{Name: "Age", Type: "string", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
	}
}

// TableRow returns the cells for one EndpointSlice at time now.
func TableRow(s *discoveryv1.EndpointSlice, now time.Time) []any {
	return []any{s.Name, string(s.AddressType), formatPorts(s.Ports), formatEndpoints(s.Endpoints), age(s.CreationTimestamp, now)}
}

// formatPorts names each port by number, by name when it has no number, and as
// "*" when it has neither.
func formatPorts(ports []discoveryv1.EndpointPort) string {
	items := make([]string, 0, len(ports))
	for _, p := range ports {
		switch {
		case p.Port != nil:
			items = append(items, strconv.Itoa(int(*p.Port)))
		case p.Name != nil:
			items = append(items, *p.Name)
		default:
			items = append(items, "*")
		}
	}
	return summarise(items)
}

// formatEndpoints lists every address of every endpoint.
func formatEndpoints(eps []discoveryv1.Endpoint) string {
	var items []string
	for _, ep := range eps {
		items = append(items, ep.Addresses...)
	}
	return summarise(items)
}

// summarise joins the first three items and counts the rest; a list that
// joins to nothing is "<unset>".
func summarise(items []string) string {
	if len(items) > maxListed {
		return fmt.Sprintf("%s + %d more...", strings.Join(items[:maxListed], ","), len(items)-maxListed)
	}
	if out := strings.Join(items, ","); out != "" {
		return out
	}
	return "<unset>"
}

// age renders the time since ts as kubectl's AGE column does.
func age(ts metav1.Time, now time.Time) string {
	if ts.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(ts.Time))
}
