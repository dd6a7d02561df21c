package apiserver

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// warnings collects Warning headers for one response.
type warnings []string

// write adds each distinct warning once, as kube-apiserver's warning
// recorder does.
func (w warnings) write(rw http.ResponseWriter) {
	for i, m := range w {
		if !slices.Contains(w[:i], m) {
			rw.Header().Add("Warning", "299 - "+strconv.Quote(m))
		}
	}
}

// add appends msgs to w when w is set.
func (w *warnings) add(msgs ...string) {
	if w != nil {
		*w = append(*w, msgs...)
	}
}

// readBody reads at most the configured body size.
func (s *Server) readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("read request body: %v", err))
	}
	if int64(len(body)) > s.cfg.MaxBodyBytes {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", s.cfg.MaxBodyBytes))
	}
	return body, nil
}

// decodeBody decodes a create/update body of the resource's kind, applying the
// request's fieldValidation directive.
func (s *Server) decodeBody(r *http.Request, res *Resource, body []byte, directive string, warn *warnings) (runtime.Object, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		ct = "application/json"
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, errUnsupportedMediaType(ct)
	}
	info, ok := s.codecs.info(mt)
	if !ok {
		return nil, errUnsupportedMediaType(ct)
	}
	obj, err := s.decodeAs(info, res, body, directive, warn)
	if runtime.IsStrictDecodingError(err) {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	return obj, err
}

// decodeAs decodes body as the resource's kind. Under the Strict directive an
// unknown or duplicate field fails with the runtime strict decoding error; under
// Warn it adds warnings.
func (s *Server) decodeAs(info runtime.SerializerInfo, res *Resource, body []byte, directive string, warn *warnings) (runtime.Object, error) {
	want := res.GVK()
	lax := info.Serializer
	var strict runtime.Decoder
	switch info.MediaType {
	case runtime.ContentTypeJSON:
		strict = s.codecs.strictJSON
	case runtime.ContentTypeYAML:
		strict = s.codecs.strictYAML
	}
	if directive != "Ignore" && strict != nil {
		obj, gvk, err := strict.Decode(body, &want, res.New())
		if err == nil {
			return obj, checkGVK(gvk, want)
		}
		if !runtime.IsStrictDecodingError(err) {
			return nil, decodeErr(err)
		}
		if directive == "Strict" {
			// Callers answer this one: 400 for a body, 422 for a patch.
			return nil, err
		}
		if sde, ok := runtime.AsStrictDecodingError(err); ok {
			for _, e := range sde.Errors() {
				*warn = append(*warn, e.Error())
			}
		}
	}
	obj, gvk, err := lax.Decode(body, &want, res.New())
	if err != nil {
		return nil, decodeErr(err)
	}
	return obj, checkGVK(gvk, want)
}

func decodeErr(err error) error {
	return apierrors.NewBadRequest(fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf: %v", err))
}

func checkGVK(got *schema.GroupVersionKind, want schema.GroupVersionKind) error {
	if got == nil {
		return nil
	}
	if got.GroupVersion() != want.GroupVersion() {
		return apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", got.GroupVersion(), want.GroupVersion()))
	}
	if got.Kind != want.Kind {
		return apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", got.Kind, want.Kind))
	}
	return nil
}

func errUnsupportedMediaType(ct string) error {
	return apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "", schema.GroupResource{}, "", fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got %q)", ct), 0, false)
}
