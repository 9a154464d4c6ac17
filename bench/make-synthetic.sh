#!/usr/bin/env bash
# Generates the synthetic benchmark sets (clustered Gaussian mixtures, exact L2 ground truth, top-100):
#   bench/data/synth-100k-128/synth-100k-128_{base,query}.fvecs + _groundtruth.ivecs   (100,000 x 128, 1,000 queries)
#   bench/data/synth-10k-1536/synth-10k-1536_{base,query}.fvecs + _groundtruth.ivecs   (10,000 x 1536, 1,000 queries)
# A set whose three files already exist is skipped. Deterministic: same seed, same bytes.
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$bench_dir/VLink.Bench"
data_dir="$bench_dir/data"

dotnet build "$project" -c Release --nologo -v quiet >&2

make_set() { # name n dim clusters queries
    local name="$1" n="$2" dim="$3" clusters="$4" queries="$5"
    local out="$data_dir/$name"
    if [[ -f "$out/${name}_base.fvecs" && -f "$out/${name}_query.fvecs" && -f "$out/${name}_groundtruth.ivecs" ]]; then
        echo "$name: already present in ${out#"$bench_dir/"}, skipping" >&2
        return
    fi
    echo "$name: generating $n x $dim ($clusters clusters, $queries queries)" >&2
    dotnet run -c Release --no-build --project "$project" -- synth \
        --n "$n" --dim "$dim" --clusters "$clusters" --queries "$queries" --seed 1 \
        --out-dir "$out" --name "$name"
}

make_set synth-100k-128  100000 128  100 1000
make_set synth-10k-1536   10000 1536  20 1000
