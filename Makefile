# svcnet: the two set-up commands are `make run` and `make test`.
GO      ?= go
BIN     ?= bin/svcnet
DATADIR ?= /var/lib/svcnet
# kubectl, built in, reports its version from these (as Kubernetes' own build sets them).
KVER    := $(shell $(GO) list -m -f '{{.Version}}' k8s.io/kubectl 2>/dev/null | sed 's/^v0\./v1./')
LDFLAGS := -X k8s.io/component-base/version.gitVersion=$(KVER) -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(word 2,$(subst ., ,$(KVER)))

.PHONY: build run test deps unit e2e lint

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/svcnet

# run builds svcnet and starts everything on this machine.
run: build
	$(BIN) up --data-dir $(DATADIR)

# test installs what the tests need (Debian packages, Go modules) and runs them all.
test: deps lint
	$(GO) test -race -count=1 -timeout 25m ./...

deps:
	./hack/install-deps.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
