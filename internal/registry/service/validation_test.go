package service

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	required     = field.ErrorTypeRequired
	invalid      = field.ErrorTypeInvalid
	forbidden    = field.ErrorTypeForbidden
	notSupported = field.ErrorTypeNotSupported
	duplicate    = field.ErrorTypeDuplicate
)

func TestValidateCreate(t *testing.T) {
	tests := []struct {
		name string
		typ  corev1.ServiceType
		// before edits the Service before Default and PrepareForCreate, after
		// edits it afterwards (to get past defaulting).
		before, after func(s *corev1.Service)
		want          []wantErr
	}{
		// Accepted.
		{name: "plain ClusterIP"},
		{name: "NodePort with static nodePort below the range", typ: corev1.ServiceTypeNodePort,
			before: func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 8065 }},
		{name: "headless without ports", before: func(s *corev1.Service) { s.Spec.ClusterIP = "None"; s.Spec.Ports = nil }},
		{name: "headless tolerates any targetPort", before: func(s *corev1.Service) {
			s.Spec.ClusterIP = "None"
			s.Spec.Ports[0].TargetPort = intstr.FromInt32(9999)
		}},
		{name: "same port on two protocols", before: func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "dns", Port: 80, Protocol: corev1.ProtocolUDP})
		}},
		{name: "named targetPort", before: func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("http-alt") }},
		{name: "appProtocol", before: func(s *corev1.Service) { s.Spec.Ports[0].AppProtocol = ptrTo("kubernetes.io/h2c") }},
		{name: "same nodePort on two protocols", typ: corev1.ServiceTypeNodePort, before: func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{
				{Name: "a", Port: 53, NodePort: 30053, Protocol: corev1.ProtocolUDP},
				{Name: "b", Port: 53, NodePort: 30053, Protocol: corev1.ProtocolTCP},
			}
		}},
		{name: "static clusterIP", before: func(s *corev1.Service) { s.Spec.ClusterIP = "10.0.0.5" }},
		{name: "dual-stack when asked for", before: func(s *corev1.Service) {
			s.Spec.ClusterIP = "10.0.0.5"
			s.Spec.ClusterIPs = []string{"10.0.0.5", "fd00::5"}
			s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyRequireDualStack)
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
		}},
		{name: "ExternalName with trailing dot", typ: corev1.ServiceTypeExternalName, before: func(s *corev1.Service) {
			s.Spec.ExternalName = "db.example.com."
			s.Spec.Ports = nil
		}},
		{name: "ClientIP at the longest timeout", before: func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptrTo[int32](86400)}}
		}},
		{name: "general multicast external IP", before: func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"239.1.1.1"} }},
		{name: "padded source range", typ: corev1.ServiceTypeLoadBalancer, before: func(s *corev1.Service) {
			s.Spec.LoadBalancerSourceRanges = []string{" 10.0.0.0/8 "}
		}},
		{name: "LoadBalancer Local waits for its healthCheckNodePort", typ: corev1.ServiceTypeLoadBalancer, before: func(s *corev1.Service) {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}},
		{name: "PreferSameNode", before: func(s *corev1.Service) { s.Spec.TrafficDistribution = ptrTo("PreferSameNode") }},
		{name: "qualified finalizer", before: func(s *corev1.Service) { s.Finalizers = []string{"example.com/cleanup", "kubernetes"} }},

		// metadata
		{name: "name not a DNS-1035 label", before: func(s *corev1.Service) { s.Name = "1web" },
			want: []wantErr{{path: "metadata.name", typ: invalid}}},
		{name: "upper-case name", before: func(s *corev1.Service) { s.Name = "Web" },
			want: []wantErr{{path: "metadata.name", typ: invalid}}},
		{name: "no name", before: func(s *corev1.Service) { s.Name = "" },
			want: []wantErr{{path: "metadata.name", typ: required, detail: "name or generateName is required"}}},
		{name: "no namespace", before: func(s *corev1.Service) { s.Namespace = "" },
			want: []wantErr{{path: "metadata.namespace", typ: required}}},
		{name: "bad label", before: func(s *corev1.Service) { s.Labels = map[string]string{"a b": "x"} },
			want: []wantErr{{path: "metadata.labels", typ: invalid}}},
		{name: "unqualified finalizer", before: func(s *corev1.Service) { s.Finalizers = []string{"cleanup"} },
			want: []wantErr{{path: "metadata.finalizers[0]", typ: invalid, detail: "name is neither a standard finalizer name nor is it fully qualified"}}},
		{name: "topology annotations disagree", before: func(s *corev1.Service) {
			s.Annotations = map[string]string{
				"service.kubernetes.io/topology-mode":        "Auto",
				"service.kubernetes.io/topology-aware-hints": "disabled",
			}
		}, want: []wantErr{{path: "metadata.annotations[service.kubernetes.io/topology-mode]", typ: invalid,
			detail: "must match annotations[service.kubernetes.io/topology-aware-hints] when both are specified"}}},

		// ports
		{name: "no ports", before: func(s *corev1.Service) { s.Spec.Ports = nil },
			want: []wantErr{{path: "spec.ports", typ: required}}},
		{name: "second port unnamed", before: func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Port: 443})
		}, want: []wantErr{{path: "spec.ports[1].name", typ: required}}},
		{name: "port name not a DNS-1123 label", before: func(s *corev1.Service) { s.Spec.Ports[0].Name = "HTTP" },
			want: []wantErr{{path: "spec.ports[0].name", typ: invalid}}},
		{name: "duplicate port names", before: func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "http", Port: 443})
		}, want: []wantErr{{path: "spec.ports[1].name", typ: duplicate}}},
		{name: "port 0", after: func(s *corev1.Service) { s.Spec.Ports[0].Port = 0 },
			want: []wantErr{{path: "spec.ports[0].port", typ: invalid, detail: "must be between 1 and 65535, inclusive"}}},
		{name: "port too high", before: func(s *corev1.Service) {
			s.Spec.Ports[0].Port = 65536
			s.Spec.Ports[0].TargetPort = intstr.FromInt32(80)
		}, want: []wantErr{{path: "spec.ports[0].port", typ: invalid, detail: "must be between 1 and 65535, inclusive"}}},
		{name: "unsupported protocol", before: func(s *corev1.Service) { s.Spec.Ports[0].Protocol = "HTTP" },
			want: []wantErr{{path: "spec.ports[0].protocol", typ: notSupported, detail: `supported values: "SCTP", "TCP", "UDP"`}}},
		{name: "protocol missing", after: func(s *corev1.Service) { s.Spec.Ports[0].Protocol = "" },
			want: []wantErr{{path: "spec.ports[0].protocol", typ: required}}},
		{name: "duplicate protocol and port", before: func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "other", Port: 80})
		}, want: []wantErr{{path: "spec.ports[1]", typ: duplicate}}},
		{name: "targetPort out of range", before: func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromInt32(70000) },
			want: []wantErr{{path: "spec.ports[0].targetPort", typ: invalid, detail: "must be between 1 and 65535, inclusive"}}},
		{name: "targetPort name too long", before: func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("a-very-long-port-name") },
			want: []wantErr{{path: "spec.ports[0].targetPort", typ: invalid, detail: "must be no more than 15 characters"}}},
		{name: "targetPort name without a letter", before: func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("8080") },
			want: []wantErr{{path: "spec.ports[0].targetPort", typ: invalid, detail: "must contain at least one letter (a-z)"}}},
		{name: "bad appProtocol", before: func(s *corev1.Service) { s.Spec.Ports[0].AppProtocol = ptrTo("h2c over tls") },
			want: []wantErr{{path: "spec.ports[0].appProtocol", typ: invalid}}},
		{name: "nodePort on ClusterIP", before: func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 },
			want: []wantErr{{path: "spec.ports[0].nodePort", typ: forbidden, detail: "may not be used when `type` is 'ClusterIP'"}}},
		{name: "duplicate nodePort", typ: corev1.ServiceTypeNodePort, before: func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "a", Port: 80, NodePort: 30080}, {Name: "b", Port: 81, NodePort: 30080}}
		}, want: []wantErr{{path: "spec.ports[1].nodePort", typ: duplicate}}},

		// selector
		{name: "bad selector key", before: func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app name": "web"} },
			want: []wantErr{{path: "spec.selector", typ: invalid}}},
		{name: "bad selector value", before: func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "-web"} },
			want: []wantErr{{path: "spec.selector", typ: invalid}}},

		// type
		{name: "unknown type", after: func(s *corev1.Service) { s.Spec.Type = "Gateway" },
			want: []wantErr{{path: "spec.type", typ: notSupported, detail: `supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`}}},
		{name: "type missing", after: func(s *corev1.Service) { s.Spec.Type = "" },
			want: []wantErr{{path: "spec.type", typ: required}}},
		{name: "headless NodePort", typ: corev1.ServiceTypeNodePort, before: func(s *corev1.Service) { s.Spec.ClusterIP = "None" },
			want: []wantErr{{path: "spec.clusterIPs[0]", typ: invalid, detail: "may not be set to 'None' for NodePort services"}}},
		{name: "headless LoadBalancer", typ: corev1.ServiceTypeLoadBalancer, before: func(s *corev1.Service) { s.Spec.ClusterIP = "None" },
			want: []wantErr{{path: "spec.clusterIPs[0]", typ: invalid, detail: "may not be set to 'None' for LoadBalancer services"}}},

		// ExternalName
		{name: "ExternalName without a name", typ: corev1.ServiceTypeExternalName,
			want: []wantErr{{path: "spec.externalName", typ: required}}},
		{name: "ExternalName upper case", typ: corev1.ServiceTypeExternalName, before: func(s *corev1.Service) { s.Spec.ExternalName = "DB.example.com" },
			want: []wantErr{{path: "spec.externalName", typ: invalid}}},
		{name: "ExternalName with clusterIP", typ: corev1.ServiceTypeExternalName, before: func(s *corev1.Service) {
			s.Spec.ExternalName = "db.example.com"
			s.Spec.ClusterIP = "10.0.0.5"
		}, want: []wantErr{{path: "spec.clusterIPs", typ: forbidden, detail: "may not be set for ExternalName services"}}},
		{name: "ExternalName with families", typ: corev1.ServiceTypeExternalName, before: func(s *corev1.Service) {
			s.Spec.ExternalName = "db.example.com"
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
			s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicySingleStack)
		}, want: []wantErr{
			{path: "spec.ipFamilies", typ: forbidden, detail: "may not be set for ExternalName services"},
			{path: "spec.ipFamilyPolicy", typ: forbidden, detail: "may not be set for ExternalName services"},
		}},

		// clusterIP(s), families, policy
		{name: "clusterIP not an IP", before: func(s *corev1.Service) { s.Spec.ClusterIP = "10.0.0.300" },
			want: []wantErr{{path: "spec.clusterIPs[0]", typ: invalid, detail: "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"}}},
		{name: "clusterIP with leading zeros", before: func(s *corev1.Service) { s.Spec.ClusterIP = "10.0.0.010" },
			want: []wantErr{{path: "spec.clusterIPs[0]", typ: invalid, detail: "must not have leading 0s"}}},
		{name: "clusterIP and clusterIPs differ", before: func(s *corev1.Service) {
			s.Spec.ClusterIP = "10.0.0.5"
			s.Spec.ClusterIPs = []string{"10.0.0.6"}
		}, want: []wantErr{{path: "spec.clusterIPs", typ: invalid, detail: "first value must match `clusterIP`"}}},
		{name: "clusterIPs without clusterIP", before: func(s *corev1.Service) { s.Spec.ClusterIPs = []string{"10.0.0.6"} },
			want: []wantErr{{path: "spec.clusterIPs", typ: invalid, detail: "must be empty when `clusterIP` is not specified"}}},
		{name: "None not alone", before: func(s *corev1.Service) {
			s.Spec.ClusterIP = "None"
			s.Spec.ClusterIPs = []string{"None", "10.0.0.6"}
		}, want: []wantErr{{path: "spec.clusterIPs", typ: invalid, detail: "'None' must be the first and only value"}}},
		{name: "three clusterIPs", before: func(s *corev1.Service) {
			s.Spec.ClusterIP = "10.0.0.5"
			s.Spec.ClusterIPs = []string{"10.0.0.5", "fd00::5", "10.0.0.6"}
			s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyRequireDualStack)
		}, want: []wantErr{{path: "spec.clusterIPs", typ: invalid, detail: "may only hold up to 2 values"}}},
		{name: "two IPv4 clusterIPs", before: func(s *corev1.Service) {
			s.Spec.ClusterIP = "10.0.0.5"
			s.Spec.ClusterIPs = []string{"10.0.0.5", "10.0.0.6"}
			s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyPreferDualStack)
		}, want: []wantErr{{path: "spec.clusterIPs", typ: invalid, detail: "may specify no more than one IP for each IP family"}}},
		{name: "two clusterIPs under implied SingleStack", before: func(s *corev1.Service) {
			s.Spec.ClusterIP = "10.0.0.5"
			s.Spec.ClusterIPs = []string{"10.0.0.5", "fd00::5"}
		}, want: []wantErr{{path: "spec.ipFamilyPolicy", typ: invalid,
			detail: "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified"}}},
		{name: "two families under SingleStack", before: func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicySingleStack)
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
		}, want: []wantErr{{path: "spec.ipFamilyPolicy", typ: invalid,
			detail: "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified"}}},
		{name: "duplicate family", before: func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyPreferDualStack)
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv4Protocol}
		}, want: []wantErr{{path: "spec.ipFamilies[1]", typ: duplicate}}},
		{name: "unknown family", before: func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{"IPv5"} },
			want: []wantErr{{path: "spec.ipFamilies[0]", typ: notSupported, detail: `supported values: "IPv4", "IPv6"`}}},
		{name: "unknown policy", before: func(s *corev1.Service) { s.Spec.IPFamilyPolicy = ptrTo[corev1.IPFamilyPolicy]("DualStack") },
			want: []wantErr{{path: "spec.ipFamilyPolicy", typ: notSupported, detail: `supported values: "PreferDualStack", "RequireDualStack", "SingleStack"`}}},
		{name: "clusterIP of the wrong family", before: func(s *corev1.Service) {
			s.Spec.ClusterIP = "fd00::5"
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
		}, want: []wantErr{{path: "spec.clusterIPs[0]", typ: invalid, detail: "expected an IPv4 value as indicated by `ipFamilies[0]`"}}},

		// session affinity
		{name: "unknown affinity", before: func(s *corev1.Service) { s.Spec.SessionAffinity = "Cookie" },
			want: []wantErr{{path: "spec.sessionAffinity", typ: notSupported, detail: `supported values: "ClientIP", "None"`}}},
		{name: "affinity missing", after: func(s *corev1.Service) { s.Spec.SessionAffinity = "" },
			want: []wantErr{{path: "spec.sessionAffinity", typ: required}}},
		{name: "affinity timeout 0", before: func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptrTo[int32](0)}}
		}, want: []wantErr{{path: "spec.sessionAffinityConfig.clientIP.timeoutSeconds", typ: invalid, detail: "must be greater than 0 and less than 86400"}}},
		{name: "affinity timeout over a day", before: func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptrTo[int32](86401)}}
		}, want: []wantErr{{path: "spec.sessionAffinityConfig.clientIP.timeoutSeconds", typ: invalid, detail: "must be greater than 0 and less than 86400"}}},
		{name: "ClientIP without config", after: func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = nil
		}, want: []wantErr{{path: "spec.sessionAffinityConfig", typ: required, detail: "when session affinity type is ClientIP"}}},
		{name: "ClientIP without clientIP", after: func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{}
		}, want: []wantErr{{path: "spec.sessionAffinityConfig.clientIP", typ: required, detail: "when session affinity type is ClientIP"}}},
		{name: "None with config", after: func(s *corev1.Service) {
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{}
		}, want: []wantErr{{path: "spec.sessionAffinityConfig", typ: forbidden, detail: "must not be set when session affinity is None"}}},

		// externalIPs
		{name: "external IP not an IP", before: func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"80.11.12"} },
			want: []wantErr{{path: "spec.externalIPs[0]", typ: invalid, detail: "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"}}},
		{name: "external IP unspecified", before: func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"80.11.12.10", "0.0.0.0"} },
			want: []wantErr{{path: "spec.externalIPs[1]", typ: invalid, detail: "may not be unspecified (0.0.0.0)"}}},
		{name: "external IP loopback", before: func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"127.0.0.2"} },
			want: []wantErr{{path: "spec.externalIPs[0]", typ: invalid, detail: "may not be in the loopback range (127.0.0.0/8, ::1/128)"}}},
		{name: "external IP IPv6 loopback", before: func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"::1"} },
			want: []wantErr{{path: "spec.externalIPs[0]", typ: invalid, detail: "may not be in the loopback range (127.0.0.0/8, ::1/128)"}}},
		{name: "external IP link-local", before: func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"169.254.169.254"} },
			want: []wantErr{{path: "spec.externalIPs[0]", typ: invalid, detail: "may not be in the link-local range (169.254.0.0/16, fe80::/10)"}}},
		{name: "external IP IPv6 link-local", before: func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"fe80::1"} },
			want: []wantErr{{path: "spec.externalIPs[0]", typ: invalid, detail: "may not be in the link-local range (169.254.0.0/16, fe80::/10)"}}},
		{name: "external IP link-local multicast", before: func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"224.0.0.251"} },
			want: []wantErr{{path: "spec.externalIPs[0]", typ: invalid, detail: "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"}}},

		// load balancer fields
		{name: "source ranges on ClusterIP", before: func(s *corev1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"} },
			want: []wantErr{{path: "spec.LoadBalancerSourceRanges", typ: forbidden, detail: "may only be used when `type` is 'LoadBalancer'"}}},
		{name: "source range not a CIDR", typ: corev1.ServiceTypeLoadBalancer, before: func(s *corev1.Service) {
			s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8", "10.0.0.0/33"}
		}, want: []wantErr{{path: "spec.LoadBalancerSourceRanges[1]", typ: invalid}}},
		{name: "source range with host bits", typ: corev1.ServiceTypeLoadBalancer, before: func(s *corev1.Service) {
			s.Spec.LoadBalancerSourceRanges = []string{"10.1.2.3/8"}
		}, want: []wantErr{{path: "spec.LoadBalancerSourceRanges[0]", typ: invalid, detail: "must not have bits set beyond the prefix length"}}},
		{name: "source-range annotation on ClusterIP", before: func(s *corev1.Service) {
			s.Annotations = map[string]string{"service.beta.kubernetes.io/load-balancer-source-ranges": "10.0.0.0/8"}
		}, want: []wantErr{{path: "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]", typ: forbidden}}},
		{name: "bad source-range annotation", typ: corev1.ServiceTypeLoadBalancer, before: func(s *corev1.Service) {
			s.Annotations = map[string]string{"service.beta.kubernetes.io/load-balancer-source-ranges": "10.0.0.0/8, nonsense"}
		}, want: []wantErr{{path: "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]", typ: invalid}}},
		{name: "allocateLoadBalancerNodePorts on NodePort", typ: corev1.ServiceTypeNodePort, before: func(s *corev1.Service) {
			s.Spec.AllocateLoadBalancerNodePorts = ptrTo(false)
		}, want: []wantErr{{path: "spec.allocateLoadBalancerNodePorts", typ: forbidden, detail: "may only be used when `type` is 'LoadBalancer'"}}},
		{name: "allocateLoadBalancerNodePorts missing", typ: corev1.ServiceTypeLoadBalancer, after: func(s *corev1.Service) {
			s.Spec.AllocateLoadBalancerNodePorts = nil
		}, want: []wantErr{{path: "allocateLoadBalancerNodePorts", typ: required}}},
		{name: "loadBalancerClass on NodePort", typ: corev1.ServiceTypeNodePort, before: func(s *corev1.Service) {
			s.Spec.LoadBalancerClass = ptrTo("example.com/lb")
		}, want: []wantErr{{path: "spec.loadBalancerClass", typ: forbidden, detail: "may only be used when `type` is 'LoadBalancer'"}}},
		{name: "bad loadBalancerClass", typ: corev1.ServiceTypeLoadBalancer, before: func(s *corev1.Service) {
			s.Spec.LoadBalancerClass = ptrTo("example.com/-lb")
		}, want: []wantErr{{path: "spec.loadBalancerClass", typ: invalid}}},

		// traffic policies
		{name: "externalTrafficPolicy on internal service", after: func(s *corev1.Service) {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
		}, want: []wantErr{{path: "spec.externalTrafficPolicy", typ: invalid, detail: "may only be set for externally-accessible services"}}},
		{name: "externalTrafficPolicy missing", typ: corev1.ServiceTypeNodePort, after: func(s *corev1.Service) {
			s.Spec.ExternalTrafficPolicy = ""
		}, want: []wantErr{{path: "spec.externalTrafficPolicy", typ: required}}},
		{name: "externalTrafficPolicy missing with externalIPs", after: func(s *corev1.Service) {
			s.Spec.ExternalIPs = []string{"80.11.12.10"}
		}, want: []wantErr{{path: "spec.externalTrafficPolicy", typ: required}}},
		{name: "unknown externalTrafficPolicy", typ: corev1.ServiceTypeNodePort, before: func(s *corev1.Service) {
			s.Spec.ExternalTrafficPolicy = "Global"
		}, want: []wantErr{{path: "spec.externalTrafficPolicy", typ: notSupported, detail: `supported values: "Cluster", "Local"`}}},
		{name: "healthCheckNodePort on NodePort", typ: corev1.ServiceTypeNodePort, before: func(s *corev1.Service) {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			s.Spec.HealthCheckNodePort = 30100
		}, want: []wantErr{{path: "spec.healthCheckNodePort", typ: invalid,
			detail: "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"}}},
		{name: "healthCheckNodePort out of range", typ: corev1.ServiceTypeLoadBalancer, before: func(s *corev1.Service) {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			s.Spec.HealthCheckNodePort = 70000
		}, want: []wantErr{{path: "spec.healthCheckNodePort", typ: invalid, detail: "must be between 1 and 65535, inclusive"}}},
		{name: "internalTrafficPolicy missing", after: func(s *corev1.Service) { s.Spec.InternalTrafficPolicy = nil },
			want: []wantErr{{path: "spec.internalTrafficPolicy", typ: required}}},
		{name: "unknown internalTrafficPolicy", before: func(s *corev1.Service) {
			s.Spec.InternalTrafficPolicy = ptrTo[corev1.ServiceInternalTrafficPolicy]("Node")
		}, want: []wantErr{{path: "spec.internalTrafficPolicy", typ: notSupported, detail: `supported values: "Cluster", "Local"`}}},
		{name: "unknown trafficDistribution", before: func(s *corev1.Service) { s.Spec.TrafficDistribution = ptrTo("Nearest") },
			want: []wantErr{{path: "spec.trafficDistribution", typ: notSupported,
				detail: `supported values: "PreferClose", "PreferSameNode", "PreferSameZone"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := tt.typ
			if typ == "" {
				typ = corev1.ServiceTypeClusterIP
			}
			svc := newService(typ)
			if typ == corev1.ServiceTypeExternalName {
				svc.Spec.Selector = nil
			}
			if tt.before != nil {
				tt.before(svc)
			}
			created(svc)
			if tt.after != nil {
				tt.after(svc)
			}
			checkErrs(t, ValidateCreate(svc), tt.want)
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	dualStack := func(s *corev1.Service) {
		s.Spec.ClusterIP = "10.0.0.10"
		s.Spec.ClusterIPs = []string{"10.0.0.10", "fd00::10"}
		s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyRequireDualStack)
		s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	}
	tests := []struct {
		name string
		typ  corev1.ServiceType
		// old edits the old Service before it is stored; edit turns a copy of
		// the stored Service into the update body.
		old, edit func(s *corev1.Service)
		// legacy marks an old Service that today's rules would refuse.
		legacy bool
		want   []wantErr
	}{
		{name: "labels only", edit: func(s *corev1.Service) { s.Labels = map[string]string{"tier": "web"} }},
		{name: "re-submitted manifest without allocated values", typ: corev1.ServiceTypeLoadBalancer,
			old: func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal },
			edit: func(s *corev1.Service) {
				s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil
				s.Spec.Ports[0].NodePort = 0
				s.Spec.HealthCheckNodePort = 0
			}},
		{name: "to ExternalName with unchanged clusterIP", edit: func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeExternalName
			s.Spec.ExternalName = "db.example.com"
		}},
		{name: "from ExternalName gets a new clusterIP", typ: corev1.ServiceTypeExternalName,
			old: func(s *corev1.Service) { s.Spec.ExternalName = "db.example.com"; s.Spec.Selector = nil },
			edit: func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeClusterIP
				s.Spec.ExternalName = ""
				s.Spec.ClusterIP = "10.0.0.20"
			}},
		{name: "change clusterIP", edit: func(s *corev1.Service) { s.Spec.ClusterIP = "10.0.0.11" },
			want: []wantErr{
				{path: "spec.clusterIP", typ: invalid, detail: "field is immutable"},
				{path: "spec.clusterIPs[0]", typ: invalid, detail: "may not change once set"},
			}},
		{name: "change clusterIPs only", edit: func(s *corev1.Service) { s.Spec.ClusterIPs = []string{"10.0.0.11"} },
			want: []wantErr{
				{path: "spec.clusterIPs", typ: invalid, detail: "first value must match `clusterIP`"},
				{path: "spec.clusterIPs[0]", typ: invalid, detail: "may not change once set"},
			}},
		{name: "make headless", edit: func(s *corev1.Service) { s.Spec.ClusterIP = "None" },
			want: []wantErr{
				{path: "spec.clusterIP", typ: invalid, detail: "field is immutable"},
				{path: "spec.clusterIPs[0]", typ: invalid, detail: "may not change once set"},
			}},
		{name: "headless may change families", old: func(s *corev1.Service) { s.Spec.ClusterIP = "None" },
			edit: func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol} }},
		{name: "change family", edit: func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol} },
			want: []wantErr{
				{path: "spec.ipFamilies[0]", typ: invalid, detail: "may not change once set"},
				{path: "spec.clusterIPs[0]", typ: invalid, detail: "expected an IPv6 value as indicated by `ipFamilies[0]`"},
			}},
		{name: "release secondary clusterIP without SingleStack", old: dualStack, edit: func(s *corev1.Service) {
			s.Spec.ClusterIPs = s.Spec.ClusterIPs[:1]
		}, want: []wantErr{{path: "spec.ipFamilyPolicy", typ: invalid, detail: "must be set to 'SingleStack' when releasing the secondary clusterIP"}}},
		{name: "release secondary family without SingleStack", old: dualStack, edit: func(s *corev1.Service) {
			s.Spec.IPFamilies = s.Spec.IPFamilies[:1]
		}, want: []wantErr{{path: "spec.ipFamilyPolicy", typ: invalid, detail: "must be set to 'SingleStack' when releasing the secondary ipFamily"}}},
		{name: "upgrade may not move the primary", edit: func(s *corev1.Service) {
			s.Spec.ClusterIP = "10.0.0.11"
			s.Spec.ClusterIPs = []string{"10.0.0.11", "fd00::11"}
			s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyRequireDualStack)
		}, want: []wantErr{
			{path: "spec.clusterIP", typ: invalid, detail: "field is immutable"},
			{path: "spec.clusterIPs[0]", typ: invalid, detail: "may not change once set"},
		}},
		{name: "upgrade to dual-stack", edit: func(s *corev1.Service) {
			s.Spec.ClusterIPs = []string{"10.0.0.10", "fd00::10"}
			s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyRequireDualStack)
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
		}},
		{name: "downgrade by policy alone", old: dualStack, edit: func(s *corev1.Service) {
			s.Spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicySingleStack)
		}},
		{name: "change name", edit: func(s *corev1.Service) { s.Name = "other" },
			want: []wantErr{{path: "metadata.name", typ: invalid, detail: "field is immutable"}}},
		{name: "change loadBalancerClass", typ: corev1.ServiceTypeLoadBalancer,
			old:  func(s *corev1.Service) { s.Spec.LoadBalancerClass = ptrTo("example.com/a") },
			edit: func(s *corev1.Service) { s.Spec.LoadBalancerClass = ptrTo("example.com/b") },
			want: []wantErr{{path: "spec.loadBalancerClass", typ: invalid, detail: "may not change once set"}}},
		{name: "change healthCheckNodePort", typ: corev1.ServiceTypeLoadBalancer,
			old:  func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal },
			edit: func(s *corev1.Service) { s.Spec.HealthCheckNodePort = 30101 },
			want: []wantErr{{path: "spec.healthCheckNodePort", typ: forbidden, detail: "field is immutable"}}},
		{name: "stored invalid external IP may stay", legacy: true, old: func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"80.11.12.010"} },
			edit: func(s *corev1.Service) { s.Labels = map[string]string{"tier": "web"} }},
		{name: "new invalid external IP", legacy: true, old: func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"80.11.12.010"} },
			edit: func(s *corev1.Service) { s.Spec.ExternalIPs = append(s.Spec.ExternalIPs, "80.11.12.011") },
			want: []wantErr{{path: "spec.externalIPs[1]", typ: invalid, detail: "must not have leading 0s"}}},
		{name: "update still validates the spec", edit: func(s *corev1.Service) { s.Spec.Ports[0].Protocol = "ICMP" },
			want: []wantErr{{path: "spec.ports[0].protocol", typ: notSupported}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := tt.typ
			if typ == "" {
				typ = corev1.ServiceTypeClusterIP
			}
			old := newService(typ)
			if tt.old != nil {
				tt.old(old)
			}
			stored(old)
			if errs := ValidateCreate(old); len(errs) > 0 && !tt.legacy {
				t.Fatalf("old Service invalid: %v", errs)
			}
			svc := old.DeepCopy()
			tt.edit(svc)
			Default(svc)
			PrepareForUpdate(svc, old)
			checkErrs(t, ValidateUpdate(svc, old), tt.want)
		})
	}
}

func TestValidateStatusUpdate(t *testing.T) {
	tests := []struct {
		name string
		typ  corev1.ServiceType
		// ingress is the new status; defaulted says whether Default runs on it.
		ingress   []corev1.LoadBalancerIngress
		defaulted bool
		want      []wantErr
	}{
		{name: "IP gets ipMode VIP", typ: corev1.ServiceTypeLoadBalancer, defaulted: true,
			ingress: []corev1.LoadBalancerIngress{{IP: "146.148.47.155"}, {Hostname: "lb.example.com"}}},
		{name: "invalid IP", typ: corev1.ServiceTypeLoadBalancer, defaulted: true,
			ingress: []corev1.LoadBalancerIngress{{IP: "146.148.47"}},
			want:    []wantErr{{path: "status.loadBalancer.ingress[0].ip", typ: invalid}}},
		{name: "ingress on ClusterIP", ingress: []corev1.LoadBalancerIngress{{IP: "146.148.47.155"}},
			want: []wantErr{{path: "status.loadBalancer.ingress", typ: forbidden, detail: "may only be used when `spec.type` is 'LoadBalancer'"}}},
		{name: "IP without ipMode", typ: corev1.ServiceTypeLoadBalancer, ingress: []corev1.LoadBalancerIngress{{IP: "146.148.47.155"}},
			want: []wantErr{{path: "status.loadBalancer.ingress[0].ipMode", typ: required, detail: "must be specified when `ip` is set"}}},
		{name: "ipMode without IP", typ: corev1.ServiceTypeLoadBalancer,
			ingress: []corev1.LoadBalancerIngress{{Hostname: "lb.example.com", IPMode: ptrTo(corev1.LoadBalancerIPModeProxy)}},
			want:    []wantErr{{path: "status.loadBalancer.ingress[0].ipMode", typ: forbidden, detail: "may not be specified when `ip` is not set"}}},
		{name: "unknown ipMode", typ: corev1.ServiceTypeLoadBalancer,
			ingress: []corev1.LoadBalancerIngress{{IP: "146.148.47.155", IPMode: ptrTo[corev1.LoadBalancerIPMode]("Direct")}},
			want:    []wantErr{{path: "status.loadBalancer.ingress[0].ipMode", typ: notSupported, detail: `supported values: "Proxy", "VIP"`}}},
		{name: "hostname that is an IP", typ: corev1.ServiceTypeLoadBalancer,
			ingress: []corev1.LoadBalancerIngress{{Hostname: "146.148.47.155"}},
			want:    []wantErr{{path: "status.loadBalancer.ingress[0].hostname", typ: invalid, detail: "must be a DNS name, not an IP address"}}},
		{name: "hostname not a DNS name", typ: corev1.ServiceTypeLoadBalancer,
			ingress: []corev1.LoadBalancerIngress{{Hostname: "LB_1.example.com"}},
			want:    []wantErr{{path: "status.loadBalancer.ingress[0].hostname", typ: invalid}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := tt.typ
			if typ == "" {
				typ = corev1.ServiceTypeClusterIP
			}
			old := stored(newService(typ))
			svc := old.DeepCopy()
			svc.Spec.Ports = nil // must be ignored: status updates keep the old spec
			svc.Status.LoadBalancer.Ingress = tt.ingress
			PrepareForStatusUpdate(svc, old)
			if tt.defaulted {
				Default(svc)
			}
			if len(svc.Spec.Ports) != 1 {
				t.Fatalf("PrepareForStatusUpdate kept ports %v; want the old spec", svc.Spec.Ports)
			}
			checkErrs(t, ValidateStatusUpdate(svc, old), tt.want)
		})
	}
}
