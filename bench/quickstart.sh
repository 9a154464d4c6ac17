#!/usr/bin/env bash
# The HNSW benchmark in one command: builds a small clustered set (50,000 x 96, L2) and runs
# VLink's HNSW and hnswlib side by side on it, printing one JSON line per (engine, ef) and a ratio line.
set -euo pipefail
bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$bench_dir/VLink.Bench"
out="$bench_dir/data/quickstart"
dotnet build "$project" -c Release --nologo -v quiet >&2
if [[ ! -f "$out/quickstart_groundtruth.ivecs" ]]; then
    dotnet run -c Release --no-build --project "$project" -- synth \
        --n 50000 --dim 96 --clusters 64 --queries 500 --seed 1 --out-dir "$out" --name quickstart
fi
dotnet run -c Release --no-build --project "$project" -- ann \
    --base "$out/quickstart_base.fvecs" --query "$out/quickstart_query.fvecs" --truth "$out/quickstart_groundtruth.ivecs" \
    --metric l2 --k 10 --m 16 --efc 200 --ef 16,32,64,128
