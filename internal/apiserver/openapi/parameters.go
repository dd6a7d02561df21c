package openapi

// parameter is one path or query parameter; typ is string, integer or boolean.
type parameter struct {
	name        string
	in          string // path or query
	description string
	typ         string
	required    bool
}

func query(name, typ, description string) parameter {
	return parameter{name: name, in: "query", typ: typ, description: description}
}

func pathParam(name, description string) parameter {
	return parameter{name: name, in: "path", typ: "string", description: description, required: true}
}

// The parameter sets below mirror what the server reads from the query string
// of each kind of request.

func writeParams() []parameter {
	return []parameter{
		query("dryRun", "string", "When set to All, the request is validated and answered as usual but nothing is stored. No other value is accepted."),
		query("fieldManager", "string", "Who makes the change, as recorded in managedFields. At most 128 printable characters; required for apply patches."),
		query("fieldValidation", "string", "How to treat fields the schema does not know and duplicated fields in the body: Ignore drops them, Warn drops them and returns a warning header per field, Strict fails the request. The default is Warn."),
	}
}

func patchParams() []parameter {
	return append(writeParams(),
		query("force", "boolean", "For apply patches only: take over fields other managers own instead of failing with a conflict."))
}

func deleteParams() []parameter {
	return []parameter{
		query("dryRun", "string", "When set to All, the request is validated and answered as usual but nothing is deleted. No other value is accepted."),
		query("gracePeriodSeconds", "integer", "Seconds the object may take to terminate; zero deletes at once. Unset uses the type's default."),
		query("propagationPolicy", "string", "What happens to dependents: Orphan, Background or Foreground."),
	}
}

func listParams(watch bool) []parameter {
	ps := []parameter{
		query("continue", "string", "Token from the metadata.continue of a previous page, to fetch the next page of the same list."),
		query("fieldSelector", "string", "Restrict the result to objects whose fields match, for example metadata.name=web."),
		query("labelSelector", "string", "Restrict the result to objects whose labels match, for example app=web,tier!=db."),
		query("limit", "integer", "Return at most this many objects; metadata.continue then points at the rest."),
		query("resourceVersion", "string", "Which state to read: unset for the latest, 0 for any cached state, or a resource version to read at or after."),
		query("resourceVersionMatch", "string", "How resourceVersion applies to a list: NotOlderThan or Exact."),
		query("timeoutSeconds", "integer", "Give up on a list or watch after this many seconds."),
	}
	if watch {
		ps = append(ps,
			query("allowWatchBookmarks", "boolean", "Let a watch send BOOKMARK events that carry only a newer resourceVersion."),
			query("sendInitialEvents", "boolean", "Start a watch with ADDED events for the current objects, ended by a bookmark annotated k8s.io/initial-events-end."),
			query("watch", "boolean", "Instead of a list, stream ADDED, MODIFIED and DELETED events from resourceVersion on."),
		)
	}
	return ps
}
