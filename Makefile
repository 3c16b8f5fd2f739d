# flowfed developer targets. `make help` lists them.
.PHONY: help build check demo tour test proto fuzz bench tools

FUZZTIME ?= 10s

help: ## show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## build the flowfed binary into ./bin
	CGO_ENABLED=0 go build -o bin/flowfed ./cmd/flowfed

demo: ## the main job: a three-organisation federation on built-in sample data
	CGO_ENABLED=0 go build -o bin/flowfed ./cmd/flowfed && bin/flowfed testnet

tour: ## build flowfed and walk through its commands in a temporary node
	scripts/demo.sh

tools: ## install protoc and protoc-gen-go (pinned)
	scripts/install-tools.sh

check: ## everything CI runs: tidy, gofmt, proto up to date, vet, staticcheck, race tests
	scripts/check.sh

test: ## unit tests only
	go test ./...

proto: ## regenerate protobuf code
	scripts/gen-proto.sh

fuzz: ## run every fuzz target for FUZZTIME each
	scripts/fuzz.sh $(FUZZTIME)

bench: ## run the benchmarks with -benchmem
	CGO_ENABLED=0 go test -run '^$$' -bench . -benchmem ./...
