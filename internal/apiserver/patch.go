package apiserver

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
)

func (s *Server) handlePatch(ctx context.Context, w http.ResponseWriter, r *http.Request, req request) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		s.writeError(w, r, errUnsupportedMediaType(ct))
		return
	}
	pt := types.PatchType(mt)
	switch pt {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType, types.ApplyYAMLPatchType:
	default:
		s.writeError(w, r, errUnsupportedMediaType(ct))
		return
	}
	o, err := parseWriteOptions(r, req.verb, pt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := s.readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var warn warnings
	o.warn = &warn
	var out runtime.Object
	code := http.StatusOK
	if pt == types.ApplyYAMLPatchType {
		out, code, err = s.apply(ctx, req, body, o, &warn)
	} else {
		out, code, err = s.update(ctx, req, o, func(old runtime.Object) (runtime.Object, error) {
			if old == nil {
				return nil, nil
			}
			return s.applyPatch(req.res, pt, old, body, o.directive, &warn)
		})
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(w, r, req, code, out, warn)
}

// applyPatch applies a JSON, merge or strategic merge patch to old.
func (s *Server) applyPatch(res *Resource, pt types.PatchType, old runtime.Object, patch []byte, directive string, warn *warnings) (runtime.Object, error) {
	info := s.codecs.jsonInfo()
	var cur bytes.Buffer
	old.GetObjectKind().SetGroupVersionKind(res.GVK())
	if err := info.Serializer.Encode(old, &cur); err != nil {
		return nil, fmt.Errorf("encode object for patch: %w", err)
	}
	var patched []byte
	var err error
	switch pt {
	case types.JSONPatchType:
		p, derr := jsonpatch.DecodePatch(patch)
		if derr != nil {
			return nil, apierrors.NewBadRequest(derr.Error())
		}
		// A well-formed patch that does not apply (a failed test, a missing
		// path) is 422 in kube-apiserver.
		if patched, err = p.Apply(cur.Bytes()); err != nil {
			return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
		}
	case types.MergePatchType:
		patched, err = jsonpatch.MergePatch(cur.Bytes(), patch)
	case types.StrategicMergePatchType:
		patched, err = strategicpatch.StrategicMergePatch(cur.Bytes(), patch, res.New())
	}
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the patch could not be applied: %v", err))
	}
	obj, err := s.decodeAs(info, res, patched, directive, warn)
	if runtime.IsStrictDecodingError(err) {
		// kube-apiserver reports unknown fields of a patch as an invalid patch.
		return nil, apierrors.NewInvalid(schema.GroupKind{}, "", field.ErrorList{field.Invalid(field.NewPath("patch"), string(patch), err.Error())})
	}
	return obj, err
}

// apply performs a server-side apply, creating the object when it does not exist.
func (s *Server) apply(ctx context.Context, req request, body []byte, o writeOpts, warn *warnings) (runtime.Object, int, error) {
	res := req.res
	patchJSON, err := yaml.YAMLToJSON(body)
	if err != nil {
		return nil, 0, apierrors.NewBadRequest(fmt.Sprintf("error decoding YAML: %v", err))
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(patchJSON); err != nil {
		return nil, 0, apierrors.NewBadRequest(fmt.Sprintf("error decoding apply patch: %v", err))
	}
	if u.GetName() != "" && u.GetName() != req.name {
		return nil, 0, apierrors.NewBadRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", u.GetName(), req.name))
	}
	if u.GetAPIVersion() != res.GroupVersion().String() || u.GetKind() != res.Kind {
		return nil, 0, apierrors.NewBadRequest(fmt.Sprintf("the API version and kind in the data (%s, %s) do not match the expected (%s, %s)", u.GetAPIVersion(), u.GetKind(), res.GroupVersion(), res.Kind))
	}
	// Reject unknown fields as the directive says, through the typed decoder.
	applied, err := s.decodeAs(s.codecs.jsonInfo(), res, patchJSON, o.directive, warn)
	if runtime.IsStrictDecodingError(err) {
		return nil, 0, apierrors.NewBadRequest(err.Error())
	}
	if err != nil {
		return nil, 0, err
	}
	fm := s.managers[res.Resource+"/"+req.sub]
	manager := o.manager
	o.applied = true
	return s.update(ctx, req, o, func(old runtime.Object) (runtime.Object, error) {
		live := old
		if live == nil {
			if req.sub != "" {
				return nil, apierrors.NewNotFound(res.GroupResource(), req.name)
			}
			live = res.New()
			a, _ := meta.Accessor(live)
			a.SetName(req.name)
			a.SetNamespace(req.namespace)
		}
		var out runtime.Object
		var err error
		s.stacks.do(ctx, func() { out, err = fm.Apply(live, applied.DeepCopyObject(), manager, o.force) })
		if err != nil {
			return nil, err
		}
		if old == nil {
			a, _ := meta.Accessor(out)
			a.SetResourceVersion("")
		}
		return out, nil
	})
}
