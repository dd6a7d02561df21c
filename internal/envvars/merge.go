package envvars

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Merge returns a container's environment as the kubelet assembles it from the
// container's own variables and the Service variables (ForPod's result):
//
//   - the container's variables come first, in declaration order; a name declared
//     twice keeps its first position and its last value;
//   - a literal value has its $(NAME) references expanded against the container
//     variables declared before it, then the Service variables; an unknown
//     reference stays as written, and $$ stands for a single $;
//   - then every Service variable whose name the container does not define:
//     explicit variables always win over service links.
//
// Entries that use valueFrom are passed through unchanged, so a caller wanting the
// kubelet's exact result resolves them (and flattens envFrom, which comes before
// env) first. A reference to a still-unresolved name is left as written.
func Merge(container []corev1.EnvVar, service []corev1.EnvVar) []corev1.EnvVar {
	serviceValues := make(map[string]string, len(service))
	for _, v := range service {
		serviceValues[v.Name] = v.Value
	}

	// defined holds the container's values so far; a name whose value is not
	// known here (valueFrom) maps to ok=false and shadows the Service variable.
	type value struct {
		s  string
		ok bool
	}
	defined := make(map[string]value, len(container))
	lookup := func(name string) (string, bool) {
		if v, found := defined[name]; found {
			return v.s, v.ok
		}
		s, ok := serviceValues[name]
		return s, ok
	}

	at := make(map[string]int, len(container))
	out := make([]corev1.EnvVar, 0, len(container)+len(service))
	for _, v := range container {
		switch {
		case v.Value != "":
			v.Value = Expand(v.Value, lookup)
			defined[v.Name] = value{s: v.Value, ok: true}
		case v.ValueFrom != nil:
			defined[v.Name] = value{}
		default:
			defined[v.Name] = value{ok: true}
		}
		if i, seen := at[v.Name]; seen {
			out[i] = v
			continue
		}
		at[v.Name] = len(out)
		out = append(out, v)
	}
	for _, v := range service {
		if _, seen := at[v.Name]; seen {
			continue
		}
		at[v.Name] = len(out)
		out = append(out, v)
	}
	return out
}

// Expand replaces the $(NAME) references in s with the values lookup finds, using
// the Kubernetes rules for env values, command and args: $$ becomes $ (so $$(NAME)
// yields the literal $(NAME)), a reference lookup does not know is kept as written,
// and any other $ (one not followed by '(' or '$', or an unclosed "$(") is literal.
func Expand(s string, lookup func(name string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
