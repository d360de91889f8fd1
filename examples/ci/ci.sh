#!/usr/bin/env bash
# The CI recipe as a plain script (the GitHub Actions workflow next to it runs the same steps):
# bring the stack up, sync, verify, smoke-test, tear down. Exit codes are the interface:
# 0 success, 1 the operation failed (drift, sync problem, engine error), 2 invalid usage or
# configuration. JSON reports land in $ARTIFACTS for the CI system to keep.
#
#   COMPOSYNC             the composync command (default: composync on the PATH)
#   COMPOSE_PROJECT_NAME  project name (default: composync-ci-example)
#   ARTIFACTS             where verify.json and status.json go (default: ./artifacts)
set -euo pipefail
cd "$(dirname "$0")"

read -r -a composync <<<"${COMPOSYNC:-composync}"
export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-composync-ci-example}"
ARTIFACTS="${ARTIFACTS:-artifacts}"
mkdir -p "$ARTIFACTS"

# Whatever happens below, leave no containers behind.
trap '"${composync[@]}" down --volumes >/dev/null 2>&1 || true' EXIT

# 1. Start the stack, wait until every service is healthy, run the initial sync.
"${composync[@]}" up --wait

# 2. One reconcile of every rule (exit 1 on conflicts or problems).
"${composync[@]}" sync

# 3. Compare local sources with the containers by content hash (exit 1 on drift).
if ! "${composync[@]}" verify --json >"$ARTIFACTS/verify.json"; then
  echo "ci: the containers drifted from the sources:" >&2
  "${composync[@]}" verify >&2 || true
  exit 1
fi
"${composync[@]}" status --json >"$ARTIFACTS/status.json"

# 4. Smoke test: the synced page is served.
docker compose exec -T web wget -q -O - http://127.0.0.1:8080/index.html | grep -q 'composync CI example'
echo "ci: smoke test passed"

# 5. Tear down (the trap would too; doing it here makes a failing `down` fail the job).
trap - EXIT
"${composync[@]}" down --volumes
