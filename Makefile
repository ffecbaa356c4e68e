# Two set-up commands on a fresh Debian machine: `make demo` and `make test`.
SHELL := /bin/bash
.PHONY: setup deps prometheus build demo test bench golden

setup: deps prometheus build

# npm dependencies, from the lock file when it is there.
deps:
	@if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi

# The real Prometheus (and promtool) from Debian, only when missing; openssl too (tests make TLS certificates),
# kubectl from kubernetes-client (tests render deploy/kubernetes with `kubectl kustomize`) and chromium (browser
# tests drive Debian's Chromium with playwright-core).
prometheus:
	@missing=""; \
	  { command -v prometheus >/dev/null && command -v promtool >/dev/null; } || missing="$$missing prometheus"; \
	  command -v openssl >/dev/null || missing="$$missing openssl"; \
	  command -v kubectl >/dev/null || missing="$$missing kubernetes-client"; \
	  command -v chromium >/dev/null || missing="$$missing chromium"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	    $$SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true; \
	  fi

build: deps
	@npx tsc -p tsconfig.json
	@npx tsc -p src/console/web/tsconfig.json

demo: setup
	node scripts/demo.mjs

# Two test files run at once; the browser test runs after them, alone: it checks how fast a page draws, and two
# cores shared with real Prometheus processes say nothing about the page.
test: setup
	node --test --test-concurrency=2 --test-timeout=600000 $$(find dist/test -name '*.test.js' ! -name '*.browser.test.js' | sort)
	node --test --test-timeout=600000 $$(find dist/test -name '*.browser.test.js' | sort)

bench: setup
	node --expose-gc --max-old-space-size=8192 dist/bench/run.js

# Regenerate the golden files of the differential corpus with the real prometheus binary.
golden: setup
	bash scripts/gen-golden.sh
