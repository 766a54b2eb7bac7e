#!/usr/bin/env python3
"""Python reference for the store and report benchmarks (benches/store.rs).

The same work as the Rust side, done the way a Python tool would do it with
duckdb + pandas + jinja2. Each command prints one JSON line
{"seconds": S, ...}; only the measured work is timed.

    store_ref.py ingest RUNS_DIR DB          # load every run folder's items
    store_ref.py leaderboard DB              # query runs, render an HTML table
    store_ref.py compare DB RUN_A RUN_B      # pair items, McNemar, render HTML
"""

import json
import math
import os
import sys
import time

import duckdb
import jinja2
import pandas as pd

LEADERBOARD = jinja2.Template(
    """<!doctype html><html><head><meta charset="utf-8"><title>leaderboard</title></head><body>
<table><thead><tr><th>rank</th><th>run</th><th>score</th><th>95% CI</th><th>items</th><th>model</th><th>created</th></tr></thead><tbody>
{% for r in runs %}<tr><td>{{ r.rank }}</td><td>{{ r.name }}<br><code>{{ r.run_id }}</code></td><td>{{ '%.4f' % r.primary_score }}</td>
<td>[{{ '%.4f' % r.ci_low }}, {{ '%.4f' % r.ci_high }}]</td><td>{{ r.n_scored }}/{{ r.n_items }}</td><td>{{ r.model_id }}</td><td>{{ r.created_at }}</td></tr>
{% endfor %}</tbody></table></body></html>""",
    autoescape=True,
)

COMPARE = jinja2.Template(
    """<!doctype html><html><head><meta charset="utf-8"><title>compare</title></head><body>
<p>A {{ '%.4f' % mean_a }} B {{ '%.4f' % mean_b }} diff {{ '%+.4f' % diff }} p={{ '%.4g' % p }} verdict {{ verdict }}</p>
<table><thead><tr><th>id</th><th>category</th><th>expected</th><th>A</th><th>A ok</th><th>B</th><th>B ok</th></tr></thead><tbody>
{% for r in rows %}<tr><td>{{ r.item_id }}</td><td>{{ r.category }}</td><td>{{ r.expected }}</td><td>{{ r.extracted_a }}</td><td>{{ r.answer_correctness_a }}</td><td>{{ r.extracted_b }}</td><td>{{ r.answer_correctness_b }}</td></tr>
{% endfor %}</tbody></table></body></html>""",
    autoescape=True,
)


def ingest(runs_dir, db):
    t0 = time.perf_counter()
    con = duckdb.connect(db)
    con.execute(
        "CREATE TABLE IF NOT EXISTS eval_items (run_id VARCHAR, item_id VARCHAR, category VARCHAR, expected VARCHAR,"
        " output VARCHAR, extracted VARCHAR, extraction_rule VARCHAR, answer_correctness DOUBLE, trace_consistency DOUBLE)"
    )
    con.execute("CREATE TABLE IF NOT EXISTS runs (run_id VARCHAR, name VARCHAR, primary_score DOUBLE, manifest VARCHAR)")
    rows = 0
    con.execute("BEGIN TRANSACTION")
    for name in sorted(os.listdir(runs_dir)):
        folder = os.path.join(runs_dir, name)
        manifest_path = os.path.join(folder, "run_manifest.json")
        if not os.path.isfile(manifest_path):
            continue
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
        with open(os.path.join(folder, "eval_summary.json"), encoding="utf-8") as f:
            summary = json.load(f)
        items = pd.read_json(os.path.join(folder, "eval_items.jsonl"), lines=True, dtype=False)
        items = items.rename(columns={"id": "item_id"})
        items.insert(0, "run_id", manifest["run_id"])
        items = items[["run_id", "item_id", "category", "expected", "output", "extracted", "extraction_rule",
                       "answer_correctness", "trace_consistency"]]
        con.register("batch", items)
        con.execute("INSERT INTO eval_items SELECT * FROM batch")
        con.unregister("batch")
        con.execute("INSERT INTO runs VALUES (?, ?, ?, ?)",
                    [manifest["run_id"], manifest["name"], summary["primary_score"], json.dumps(manifest)])
        rows += len(items)
    con.execute("COMMIT")
    con.close()
    return {"seconds": time.perf_counter() - t0, "rows": rows}


def leaderboard(db):
    t0 = time.perf_counter()
    con = duckdb.connect(db, read_only=True)
    runs = con.execute(
        "SELECT run_id, name, model_id, strftime(created_at, '%Y-%m-%dT%H:%M:%SZ') AS created_at, primary_score,"
        " ci_low, ci_high, n_items, n_scored FROM runs"
    ).df()
    runs = runs.sort_values(["primary_score", "run_id"], ascending=[False, True]).reset_index(drop=True)
    lead_low = runs.loc[0, "ci_low"]
    rank, group_low = 1, lead_low
    ranks = []
    for low, high in zip(runs["ci_low"], runs["ci_high"]):
        if high < group_low:
            rank += 1
            group_low = low
        ranks.append(rank)
    runs["rank"] = ranks
    html = LEADERBOARD.render(runs=runs.to_dict("records"))
    con.close()
    return {"seconds": time.perf_counter() - t0, "runs": len(runs), "bytes": len(html)}


def mcnemar_exact(b, c):
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    log_half = n * math.log(0.5)
    tail = sum(math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + log_half) for i in range(k + 1))
    return min(1.0, 2.0 * tail)


def compare(db, run_a, run_b):
    t0 = time.perf_counter()
    con = duckdb.connect(db, read_only=True)
    q = "SELECT item_id, category, expected, extracted, answer_correctness FROM eval_items WHERE run_id = ?"
    a = con.execute(q, [run_a]).df()
    b = con.execute(q, [run_b]).df()
    pairs = a.merge(b, on=["item_id", "category", "expected"], suffixes=("_a", "_b"))
    bb = int(((pairs.answer_correctness_a == 1) & (pairs.answer_correctness_b == 0)).sum())
    cc = int(((pairs.answer_correctness_a == 0) & (pairs.answer_correctness_b == 1)).sum())
    p = mcnemar_exact(bb, cc)
    mean_a = float(pairs.answer_correctness_a.mean())
    mean_b = float(pairs.answer_correctness_b.mean())
    diff = mean_b - mean_a
    verdict = "improved" if p < 0.05 and diff > 0 else ("regressed" if p < 0.05 and diff < 0 else "no_evidence")
    pairs["flipped"] = pairs.answer_correctness_a != pairs.answer_correctness_b
    pairs = pairs.sort_values(["flipped", "item_id"], ascending=[False, True])
    html = COMPARE.render(rows=pairs.to_dict("records"), mean_a=mean_a, mean_b=mean_b, diff=diff, p=p, verdict=verdict)
    con.close()
    return {"seconds": time.perf_counter() - t0, "pairs": len(pairs), "bytes": len(html), "verdict": verdict}


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd == "ingest":
        out = ingest(argv[2], argv[3])
    elif cmd == "leaderboard":
        out = leaderboard(argv[2])
    elif cmd == "compare":
        out = compare(argv[2], argv[3], argv[4])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
