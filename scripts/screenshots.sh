#!/usr/bin/env bash
# Rewrites the buyer page's screenshots in docs/screenshots/ (README.md, docs/browser-client.md):
# the Chromium tests run with UPDATE_SCREENSHOTS=1. On demand only, never in `npm test`.
# Korean needs a Korean font in the browser: NanumGothic (Debian's fonts-nanum) when none is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! fc-list :lang=ko 2>/dev/null | grep -q .; then
  apt-get update -qq && apt-get install -y -qq fonts-nanum >/dev/null
fi
UPDATE_SCREENSHOTS=1 npx jest test/e2e/browser-journey.test.ts test/e2e/browser.test.ts
