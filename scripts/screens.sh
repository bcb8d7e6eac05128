#!/usr/bin/env bash
# Regenerates the screenshots in docs/screens (360×740, as a phone shows
# them) by running the browser tests with LINLI_SCREENSHOTS set. Needs
# chromium and a CJK font (.ci/run installs both when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
LINLI_SCREENSHOTS=docs/screens go test -count=1 -run 'TestScreens' ./app/
ls -1 docs/screens
