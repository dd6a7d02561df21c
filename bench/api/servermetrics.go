package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/rest"
)

// durationMetric is the server's request-duration histogram for services.
const durationMetric = "svcnet_apiserver_request_duration_seconds"

// handlerTime is the server's own account of one verb on services: the sum and count
// of its request-duration histogram, which covers the handler after authentication
// (not TLS, HTTP/2 framing or waiting for a goroutine).
type handlerTime struct {
	sum   float64 // seconds
	count int64
}

// since returns the mean handler time and the count of the requests between
// before and h.
func (h handlerTime) since(before handlerTime) (time.Duration, int64) {
	n := h.count - before.count
	if n <= 0 {
		return 0, 0
	}
	return time.Duration((h.sum - before.sum) / float64(n) * float64(time.Second)), n
}

// scrapeHandlerTime reads /metrics and returns the services histogram for verb.
func scrapeHandlerTime(ctx context.Context, rc rest.Interface, verb string) (handlerTime, error) {
	body, err := rc.Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return handlerTime{}, fmt.Errorf("scrape /metrics: %w", err)
	}
	return parseHandlerTime(string(body), verb)
}

func parseHandlerTime(text, verb string) (handlerTime, error) {
	var h handlerTime
	var seen int
	for _, line := range strings.Split(text, "\n") {
		name, rest, ok := strings.Cut(line, "{")
		if !ok || (name != durationMetric+"_sum" && name != durationMetric+"_count") {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok || !hasLabels(labels, "resource", "services", "verb", verb) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return handlerTime{}, fmt.Errorf("parse %s: %w", name, err)
		}
		if strings.HasSuffix(name, "_sum") {
			h.sum = v
		} else {
			h.count = int64(v)
		}
		seen++
	}
	if seen == 0 {
		// No request of this verb yet.
		return handlerTime{}, nil
	}
	return h, nil
}

// hasLabels reports whether a Prometheus label list holds every name=value pair of kv.
func hasLabels(labels string, kv ...string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		if !strings.Contains(","+labels+",", ","+kv[i]+"=\""+kv[i+1]+"\",") {
			return false
		}
	}
	return true
}
