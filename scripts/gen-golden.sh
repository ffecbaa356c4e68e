#!/usr/bin/env bash
# Regenerate test/corpus/*/golden.json with the real prometheus binary (see scripts/gen-golden.mjs).
exec node "$(dirname "$0")/gen-golden.mjs" "$@"
