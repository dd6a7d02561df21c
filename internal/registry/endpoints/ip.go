package endpoints

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// strictIPs mirrors kube-apiserver's StrictIPCIDRValidation feature gate (on by
// default): new values may not use IPv4 octets with leading zeros or
// IPv4-mapped IPv6 addresses. Non-canonical IPv6 spellings stay accepted, as
// in these long-standing fields kube-apiserver only warns about them.
const strictIPs = true

// ValidateNonSpecialIP rejects addresses that cannot be a traffic destination
// for a Service: unspecified, loopback, link-local unicast and link-local
// multicast. Other multicast addresses pass, as in kube-apiserver. The value is
// parsed leniently (leading zeros allowed); format errors are the caller's
// concern, this only adds "must be a valid IP address" when nothing parses.
// The messages are kube-apiserver's, because clients show them to users.
func ValidateNonSpecialIP(ip string, fldPath *field.Path) field.ErrorList {
	parsed := netutils.ParseIPSloppy(ip)
	if parsed == nil {
		return field.ErrorList{field.Invalid(fldPath, ip, "must be a valid IP address")}
	}
	var errs field.ErrorList
	if parsed.IsUnspecified() {
		errs = append(errs, field.Invalid(fldPath, ip, fmt.Sprintf("may not be unspecified (%v)", ip)))
	}
	if parsed.IsLoopback() {
		errs = append(errs, field.Invalid(fldPath, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if parsed.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(fldPath, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if parsed.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(fldPath, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}
