# Facehook: `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(CURDIR)/end2end/node_modules/.bin:$(PATH)
FACEHOOK_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
export FACEHOOK_TEST_POSTGRES_URL

.PHONY: run test build tools lint unit e2e api-fuzz bench size clean

## run: build the release binary and serve the console on http://127.0.0.1:3000 (SQLite, ./facehook.db)
run: build
	./target/release/facehook serve

## build: release binary at target/release/facehook, site assets at target/site (hashed names,
## with brotli and gzip copies; hash.txt tells the server the names)
build: tools
	.ci/build

## test: formatting, lints, unit + integration tests on SQLite and PostgreSQL, then the browser suite
test:
	.ci/bootstrap --test
	$(MAKE) lint unit e2e api-fuzz

tools:
	.ci/bootstrap

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets --features ssr -- -D warnings
	cargo clippy --lib --no-default-features --features hydrate --target wasm32-unknown-unknown -- -D warnings

unit:
	cargo test --features ssr

e2e: build
	cd end2end && npx playwright test

## api-fuzz: schemathesis (every check) over the REST API's OpenAPI document, on both backends
api-fuzz: build
	.ci/api-fuzz

## bench: intake and delivery throughput and latency, and endpoint isolation, on SQLite and
## PostgreSQL (release build), then the console's page weights and time to hydrated
bench:
	.ci/bootstrap --test
	cargo bench --features ssr --bench intake --bench latency --bench dispatch --bench isolation --bench scale
	$(MAKE) size

## size: compressed bytes each console page loads, and its time to hydrated, in chromium
size: build
	.ci/bootstrap --test
	cd end2end && npx playwright test size.spec.ts

clean:
	cargo clean
	rm -rf end2end/node_modules end2end/test-results
