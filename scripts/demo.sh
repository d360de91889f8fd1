#!/usr/bin/env bash
# From a fresh clone to a running example: install, build, start the engine and the images,
# then run the static-site example with `composync up --watch`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build --silent
bash scripts/setup-engine.sh
cat <<'MSG'

composync is starting examples/static-site: edit examples/static-site/site/index.html and
run `curl -s localhost:8080` (or reload http://localhost:8080) to see the change at once.
Ctrl+C stops watching; `node bin/composync.js -f examples/static-site/compose.yaml down` stops the site.

MSG
exec node bin/composync.js -f examples/static-site/compose.yaml up --watch
