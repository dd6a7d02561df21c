package apiserver

import (
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/svcnet/svcnet/internal/storage"
)

// toStatus turns any error into the Kubernetes Status a client should see.
func toStatus(err error) *metav1.Status {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		st := se.Status()
		return &st
	}
	if errors.Is(err, storage.ErrCompacted) {
		return &apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %v", err)).ErrStatus
	}
	st := apierrors.NewInternalError(err).ErrStatus
	return &st
}

// storageErr maps a storage error on one object to the API error kube-apiserver gives.
func storageErr(err error, gr schema.GroupResource, name string) error {
	var ce *storage.ConflictError
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return apierrors.NewNotFound(gr, name)
	case errors.As(err, &ce):
		return apierrors.NewConflict(gr, name, errors.New("the object has been modified; please apply your changes to the latest version and try again"))
	case errors.Is(err, storage.ErrCompacted):
		return apierrors.NewResourceExpired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
	case errors.Is(err, storage.ErrBadContinue):
		return apierrors.NewBadRequest("invalid continue token")
	}
	return err
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	st := toStatus(err)
	st.Kind, st.APIVersion = "Status", "v1"
	if st.Code == 0 {
		st.Code = http.StatusInternalServerError
	}
	if st.Code >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	mr, ok := s.codecs.negotiate(r, false)
	if !ok {
		mr.info = s.codecs.jsonInfo()
	}
	s.writeObject(w, int(st.Code), mr.info, st)
}
