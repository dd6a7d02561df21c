package apiserver

import (
	"fmt"
	"mime"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// codecs bundles the scheme and the serializers the server speaks.
type codecs struct {
	scheme  *runtime.Scheme
	factory serializer.CodecFactory
	// proto is the storage encoding (what kube-apiserver stores in etcd).
	proto *protobuf.Serializer
	// strict decoders reject unknown and duplicate fields.
	strictJSON, strictYAML *json.Serializer
}

func newCodecs() (*codecs, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("build scheme: %w", err)
	}
	metav1.AddMetaToScheme(s)
	opts := json.SerializerOptions{Strict: true}
	yopts := json.SerializerOptions{Strict: true, Yaml: true}
	return &codecs{
		scheme:     s,
		factory:    serializer.NewCodecFactory(s),
		proto:      protobuf.NewSerializer(s, s),
		strictJSON: json.NewSerializerWithOptions(json.DefaultMetaFactory, s, s, opts),
		strictYAML: json.NewSerializerWithOptions(json.DefaultMetaFactory, s, s, yopts),
	}, nil
}

// mediaRequest is the parsed result of one Accept header entry.
type mediaRequest struct {
	info runtime.SerializerInfo
	// as is "Table" or "PartialObjectMetadata"/"PartialObjectMetadataList" when the
	// client asked for a meta.k8s.io view, else empty.
	as string
}

// negotiate picks the response encoding from the Accept header. ok is false when
// nothing acceptable is served (406).
func (c *codecs) negotiate(r *http.Request, allowViews bool) (mediaRequest, bool) {
	header := r.Header.Get("Accept")
	if header == "" {
		header = "application/json"
	}
	for _, part := range strings.Split(header, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if mt == "*/*" || mt == "application/*" {
			mt = "application/json"
		}
		info, ok := c.info(mt)
		if !ok {
			continue
		}
		as := params["as"]
		if as != "" {
			if !allowViews || params["g"] != "meta.k8s.io" || (params["v"] != "v1" && params["v"] != "v1beta1") {
				continue
			}
			switch as {
			case "Table":
				// Table cells hold arbitrary values, which only JSON and YAML can
				// carry; kube-apiserver offers Tables in no other encoding either.
				if mt != runtime.ContentTypeJSON && mt != runtime.ContentTypeYAML {
					continue
				}
			case "PartialObjectMetadata", "PartialObjectMetadataList":
			default:
				continue
			}
		}
		return mediaRequest{info: info, as: as}, true
	}
	return mediaRequest{}, false
}

// acceptedTypes names the encodings a 406 or 415 answer offers.
const acceptedTypes = "application/json, application/yaml, application/vnd.kubernetes.protobuf"

// errNotAcceptable is kube-apiserver's answer when no Accept entry can be served.
func errNotAcceptable() error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusNotAcceptable,
		Reason:  metav1.StatusReasonNotAcceptable,
		Message: "only the following media types are accepted: " + acceptedTypes,
	}}
}

func (c *codecs) info(mediaType string) (runtime.SerializerInfo, bool) {
	for _, i := range c.factory.SupportedMediaTypes() {
		if i.MediaType == mediaType {
			return i, true
		}
	}
	return runtime.SerializerInfo{}, false
}

func (c *codecs) jsonInfo() runtime.SerializerInfo {
	i, _ := c.info(runtime.ContentTypeJSON)
	return i
}

// encodeStorage encodes obj for etcd as protobuf with its kind.
func (c *codecs) encodeStorage(obj runtime.Object, gvk schema.GroupVersionKind) ([]byte, error) {
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	var b strings.Builder
	if err := c.proto.Encode(obj, &b); err != nil {
		return nil, fmt.Errorf("encode %s for storage: %w", gvk.Kind, err)
	}
	return []byte(b.String()), nil
}

// decodeStorage decodes a stored value into a new object made by newFn.
func (c *codecs) decodeStorage(data []byte, newFn func() runtime.Object) (runtime.Object, error) {
	into := newFn()
	obj, _, err := c.proto.Decode(data, nil, into)
	if err != nil {
		return nil, fmt.Errorf("decode stored object: %w", err)
	}
	return obj, nil
}
