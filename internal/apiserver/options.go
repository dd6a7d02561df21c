package apiserver

import (
	"net/http"
	"strconv"
	"unicode"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// writeOpts are the per-request options of a write.
type writeOpts struct {
	manager string
	dry     bool
	// directive is the fieldValidation directive: Strict, Warn or Ignore.
	directive string
	// force lets server-side apply take fields other managers own.
	force bool
	// applied means managedFields were already computed by server-side apply,
	// which also creates a missing object whatever the resource.
	applied bool
	// warn, when set, collects the strategy's warnings for the response.
	warn *warnings
}

// parseWriteOptions reads the query options of a create, update or patch (pt is
// empty for the first two) and checks them with kube-apiserver's rules: an
// unknown dryRun or fieldValidation value, a bad fieldManager, apply without a
// manager or force without apply is 422 Invalid.
func parseWriteOptions(r *http.Request, verb string, pt types.PatchType) (writeOpts, error) {
	q := r.URL.Query()
	o := writeOpts{manager: q.Get("fieldManager"), directive: q.Get("fieldValidation")}
	dry := q["dryRun"]
	var errs field.ErrorList
	var kind string
	switch verb {
	case "create":
		kind = "CreateOptions"
		errs = metav1validation.ValidateCreateOptions(&metav1.CreateOptions{DryRun: dry, FieldManager: o.manager, FieldValidation: o.directive})
	case "update":
		kind = "UpdateOptions"
		errs = metav1validation.ValidateUpdateOptions(&metav1.UpdateOptions{DryRun: dry, FieldManager: o.manager, FieldValidation: o.directive})
	default:
		kind = "PatchOptions"
		po := &metav1.PatchOptions{DryRun: dry, FieldManager: o.manager, FieldValidation: o.directive}
		if v, ok := q["force"]; ok {
			b, err := strconv.ParseBool(v[0])
			if err != nil {
				return o, apierrors.NewBadRequest("force: " + err.Error())
			}
			po.Force, o.force = &b, b
		}
		errs = metav1validation.ValidatePatchOptions(po, pt)
	}
	if len(errs) > 0 {
		return o, apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: kind}, "", errs)
	}
	o.dry = len(dry) > 0
	if o.directive == "" {
		o.directive = metav1.FieldValidationWarn
	}
	if o.manager == "" {
		o.manager = managerFromUserAgent(r.UserAgent())
	}
	return o, nil
}

// managerFromUserAgent names the field manager of a client that gave none after
// its user agent up to the first "/", as kube-apiserver does.
func managerFromUserAgent(ua string) string {
	var out []rune
	for _, c := range ua {
		if c == '/' || len(out) == metav1validation.FieldManagerMaxLength {
			break
		}
		if unicode.IsPrint(c) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return "unknown"
	}
	return string(out)
}
