#!/usr/bin/env bash
# The project's test command (the README's): formatting, vet, and every test
# with the race detector, against the embedded store (or the MongoDB at
# MONGODB_URI when it is set).
set -euo pipefail
cd "$(dirname "$0")/.."

# The garbage collector runs a quarter as often (GOGC=400, unless set):
# the suite is CPU-bound on two cores and its processes are small, and
# this took the go test phase below from 495 s to 426 s here (the tests' store
# server spent a seventh of its CPU collecting; docs/PERFORMANCE.md).
export GOGC="${GOGC:-400}"

echo "== go mod download"
go mod download

echo "== tracked files"
# Nothing built is committed (web/dist is small): a tracked file over 1 MB
# is a binary or data that slipped in.
if git rev-parse --git-dir >/dev/null 2>&1; then
  big=$(git ls-files -z | xargs -0 -r stat -c '%s %n' 2>/dev/null | awk '$1 > 1048576 {print $2}')
  if [ -n "$big" ]; then
    echo "tracked files over 1 MB:"; echo "$big"; exit 1
  fi
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './data/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

# The tests' embedded store runs in a process of its own, built without the
# race detector (store/storetest): the tests' code runs under -race, the
# store's at full speed (about three times faster than in the test binary).
if [ -z "${MONGODB_URI:-}" ] && [ -z "${LINLI_TEST_STORE_BIN:-}" ]; then
  echo "== build the tests' store server"
  storebin=$(mktemp -d)
  trap 'rm -rf "$storebin"' EXIT
  go build -o "$storebin/teststore" ./scripts/teststore
  export LINLI_TEST_STORE_BIN="$storebin/teststore"
fi

# Four tests of a package at a time: many wait on a browser, a deadline or
# a receiver, and two (the default on two cores) leave a core idle.
echo "== go test -race ($(date -u +%T) UTC)"
go test -race -count=1 -parallel 4 -timeout 60m "$@" ./...

# Every fuzz target runs briefly on top of its seed corpus (which the plain
# test run above already replayed). LINLI_FUZZTIME=0 skips this. The budget
# is a count of inputs, not a duration: with a duration, Go's fuzzing
# coordinator can fail a target with a bare "context deadline exceeded" and
# no failing input when a loaded worker is mid-input as the time runs out
# (it failed qrtoken's FuzzCounterParse that way once); a count has no
# deadline to race. 30000 inputs take about 6 s for a handlers target and
# 1 s for a qrtoken one here. Each new interesting input is minimized for
# at most 100 runs: by default that takes up to a minute per input.
fuzztime="${LINLI_FUZZTIME:-30000x}"
if [ "$fuzztime" != "0" ]; then
  echo "== fuzz ($fuzztime each; $(date -u +%T) UTC)"
  # The targets are found in the test files, not by `go test -list`,
  # which would build every package's test binary again without the
  # race detector only to list them.
  for dir in $(grep -rl --include='*_test.go' --exclude-dir=node_modules '^func Fuzz' . | xargs -r -n1 dirname | sort -u); do
    for target in $(grep -h '^func Fuzz' "$dir"/*_test.go | sed -E 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/'); do
      echo "-- $dir $target"
      go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 100x "$dir"
    done
  done
fi
echo "== done ($(date -u +%T) UTC)"
