package agent

import (
	"encoding/json"
	"net/http"
	"time"
)

// healthBody is kube-proxy's /healthz answer.
type healthBody struct {
	LastUpdated  string `json:"lastUpdated"`
	CurrentTime  string `json:"currentTime"`
	NodeEligible *bool  `json:"nodeEligible,omitempty"`
}

// HealthHandler serves /healthz as kube-proxy does (200 when the data plane is
// in step, 503 otherwise, with a JSON body) and /livez (200 while the process
// runs).
func (a *Agent) HealthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		now := time.Now()
		last, ok := a.Healthy(now)
		eligible := true
		body := healthBody{CurrentTime: now.UTC().Format(time.RFC3339Nano), NodeEligible: &eligible}
		if !last.IsZero() {
			body.LastUpdated = last.UTC().Format(time.RFC3339Nano)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(body)
	})
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
	return mux
}
