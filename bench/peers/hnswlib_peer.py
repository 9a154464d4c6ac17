#!/usr/bin/env python3
"""hnswlib side of the VLink ANN benchmark (`VLink.Bench ann --peer hnswlib`).

Run by the C# harness with Debian's interpreter (/usr/bin/python3, packages python3-hnswlib and
python3-numpy). It builds an hnswlib index over the base vectors with the same M / ef_construction /
seed as VLink, times batch queries at every ef, and reports on stdout, one JSON object per line:

  {"event": "build", ...}          build time and memory
  {"event": "search", "ef": ...}   QPS (median of --repeats passes), latency, labels file
  {"event": "done"}
  {"event": "error", ...}          then a non-zero exit

Recall is NOT computed here: the labels of each ef go to OUT_DIR/labels_ef{ef}.ivecs (TEXMEX .ivecs,
k ids per query) and the harness scores both engines with the same code. Progress goes to stderr.
The harness has already validated the input files.
"""

import argparse
import json
import os
import sys
import time


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def log(msg):
    sys.stderr.write("hnswlib: " + msg + "\n")
    sys.stderr.flush()


try:
    import numpy as np
    import hnswlib
except ImportError as e:  # the harness turns this into an install hint
    emit({"event": "error", "kind": "import", "error": str(e)})
    sys.exit(3)


def read_fvecs(path, limit=None):
    raw = np.fromfile(path, dtype=np.int32)
    dim = int(raw[0])
    rows = raw.reshape(-1, dim + 1)
    if limit is not None:
        rows = rows[:limit]
    if not np.all(rows[:, 0] == dim):
        raise ValueError(path + ": inconsistent dimensions")
    return np.ascontiguousarray(rows[:, 1:]).view(np.float32)


def write_ivecs(path, labels):
    n, k = labels.shape
    out = np.empty((n, k + 1), dtype=np.int32)
    out[:, 0] = k
    out[:, 1:] = labels.astype(np.int64).astype(np.int32)
    out.tofile(path)


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def formula_bytes(n, dim, m):
    """Memory of hnswlib 0.6's HierarchicalNSW<float> for n elements, from its data layout.

    Level 0, one block per element: 2M links (uint32) + link count (uint32) + vector (dim float32)
    + label (size_t). Per element also: a linkLists_ pointer (8), element_levels_ (int, 4), a
    std::mutex in link_list_locks_ (40), the label -> id unordered_map node + bucket (~40), and
    visited-list tags (uint16, 2). Upper levels: an element reaches level >= l with probability M^-l,
    so the expected number of upper-level blocks is n / (M - 1), each M links + count (4M + 4).
    """
    graph = n * ((2 * m + 1) * 4 + dim * 4 + 8) + (n / (m - 1)) * (4 * m + 4)
    bookkeeping = n * (8 + 4 + 40 + 40 + 2)
    return int(round(graph + bookkeeping)), int(round(graph))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--query", required=True)
    ap.add_argument("--space", required=True, choices=["l2", "cosine", "ip"])
    ap.add_argument("--k", type=int, required=True)
    ap.add_argument("--m", type=int, required=True)
    ap.add_argument("--efc", type=int, required=True)
    ap.add_argument("--ef", required=True, help="comma-separated")
    ap.add_argument("--threads", default="1", help="search threads, comma-separated: each is measured")
    ap.add_argument("--build-threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--min-pass-s", type=float, default=0.5)
    ap.add_argument("--limit-queries", type=int, default=None)
    ap.add_argument("--latency", choices=["single-call", "none"], default="single-call")
    ap.add_argument("--out-dir", required=True)
    a = ap.parse_args()
    efs = [int(x) for x in a.ef.split(",") if x.strip()]
    thread_counts = [int(x) for x in a.threads.split(",") if x.strip()]

    data = read_fvecs(a.base)
    queries = read_fvecs(a.query, a.limit_queries)
    n, dim = data.shape
    nq = queries.shape[0]
    ids = np.arange(n, dtype=np.int64)

    # Build with --build-threads, as VLink's build. RSS growth spans init_index + add_items only.
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    index = hnswlib.Index(space=a.space, dim=dim)
    index.init_index(max_elements=n, M=a.m, ef_construction=a.efc, random_seed=a.seed)
    log("building HNSW (M=%d, ef_construction=%d) over %d vectors..." % (a.m, a.efc, n))
    index.add_items(data, ids, num_threads=a.build_threads)
    build_s = time.perf_counter() - t0
    rss_delta = rss_bytes() - rss0
    formula, formula_graph = formula_bytes(n, dim, a.m)
    log("built in %.2f s, RSS +%d bytes" % (build_s, rss_delta))
    emit({"event": "build", "build_s": build_s, "n": n, "dim": dim, "rss_delta_bytes": rss_delta,
          "formula_bytes": formula, "formula_graph_bytes": formula_graph,
          "count": index.get_current_count()})

    # Warm-up: one untimed batch pass.
    index.set_ef(efs[0])
    index.knn_query(queries, k=a.k, num_threads=thread_counts[0])

    for ef, threads in [(ef, t) for ef in efs for t in thread_counts]:
        index.set_ef(ef)
        # Calibration (untimed, also this ef's warm-up): a timed pass repeats the batch call until it lasts
        # --min-pass-s, as the harness does for VLink, so short passes are not all timer and scheduler noise.
        t = time.perf_counter()
        labels, _dist = index.knn_query(queries, k=a.k, num_threads=threads)
        once = time.perf_counter() - t
        rounds = 1 if once >= a.min_pass_s else int(min(10000, np.ceil(a.min_pass_s / max(once, 1e-6))))
        seconds = []
        for _ in range(a.repeats):
            t = time.perf_counter()
            for _ in range(rounds):
                index.knn_query(queries, k=a.k, num_threads=threads)
            seconds.append(time.perf_counter() - t)
        qps_runs = [nq * rounds / s for s in seconds]
        labels_path = os.path.join(a.out_dir, "labels_ef%d_t%d.ivecs" % (ef, threads))
        write_ivecs(labels_path, labels)

        p50 = p99 = None
        if a.latency == "single-call" and threads == thread_counts[0]:
            # One knn_query call per query from Python: includes interpreter and binding overhead.
            lat = np.empty(nq, dtype=np.float64)
            for i in range(nq):
                q = queries[i:i + 1]
                t = time.perf_counter_ns()
                index.knn_query(q, k=a.k, num_threads=1)
                lat[i] = (time.perf_counter_ns() - t) / 1000.0
            lat.sort()
            p50 = float(lat[max(0, int(np.ceil(0.50 * nq)) - 1)])
            p99 = float(lat[max(0, int(np.ceil(0.99 * nq)) - 1)])

        qps = float(np.median(qps_runs))
        log("ef=%d threads=%d qps=%.0f" % (ef, threads, qps))
        emit({"event": "search", "ef": ef, "threads": threads, "qps": qps, "qps_runs": qps_runs, "rounds": rounds,
              "p50_us": p50, "p99_us": p99, "labels": labels_path})

    emit({"event": "done"})


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report, do not hang the harness on a traceback
        emit({"event": "error", "kind": type(e).__name__, "error": str(e)})
        raise
