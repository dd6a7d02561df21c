package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/client-go/rest"
)

// Accept headers of the two svcnet lists.
const (
	acceptJSON  = "application/json"
	acceptTable = "application/json;as=Table;v=v1;g=meta.k8s.io"
)

// listTimes holds the timed repetitions of the three lists and one response of each.
type listTimes struct {
	json, table, etcd           []time.Duration
	jsonBytes, tableBytes       int
	jsonItems, tableRows, etcdN int
}

// timeLists runs reps+1 rounds of: svcnet JSON list, svcnet Table list, etcd range
// read of the same Services' keys. The first round warms up and is not kept; taking
// the three in turn spreads the machine's noise over all of them alike.
func timeLists(ctx context.Context, rc rest.Interface, cli *clientv3.Client, ns string, reps int) (listTimes, error) {
	var lt listTimes
	path := "/api/v1/namespaces/" + ns + "/services"
	prefix := "/registry/services/" + ns + "/"
	var jsonBody, tableBody []byte
	for r := 0; r <= reps; r++ {
		d, body, err := getRaw(ctx, rc, path, acceptJSON)
		if err != nil {
			return lt, err
		}
		jsonBody = body
		dt, tbody, err := getRaw(ctx, rc, path, acceptTable)
		if err != nil {
			return lt, err
		}
		tableBody = tbody
		t := time.Now()
		resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix())
		de := time.Since(t)
		if err != nil {
			return lt, fmt.Errorf("etcd range %s: %w", prefix, err)
		}
		lt.etcdN = len(resp.Kvs)
		if r == 0 {
			continue
		}
		lt.json = append(lt.json, d)
		lt.table = append(lt.table, dt)
		lt.etcd = append(lt.etcd, de)
	}
	lt.jsonBytes, lt.tableBytes = len(jsonBody), len(tableBody)
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(jsonBody, &list); err != nil {
		return lt, fmt.Errorf("decode JSON list: %w", err)
	}
	var table struct {
		Rows []json.RawMessage `json:"rows"`
	}
	if err := json.Unmarshal(tableBody, &table); err != nil {
		return lt, fmt.Errorf("decode Table list: %w", err)
	}
	lt.jsonItems, lt.tableRows = len(list.Items), len(table.Rows)
	return lt, nil
}

// getRaw times one GET until the whole body has arrived (not decoded).
func getRaw(ctx context.Context, rc rest.Interface, path, accept string) (time.Duration, []byte, error) {
	t := time.Now()
	body, err := rc.Get().AbsPath(path).SetHeader("Accept", accept).DoRaw(ctx)
	d := time.Since(t)
	if err != nil {
		return d, nil, fmt.Errorf("GET %s (%s): %w", path, accept, err)
	}
	return d, body, nil
}
