#!/usr/bin/env python3
"""The store goals measured with the installed programs, whole processes.

Usage: bench/installed.py TUNIX_RT SYNTHETIC_RUNS [REPS]

TUNIX_RT is the installed CLI (`make install`); SYNTHETIC_RUNS the
`synthetic_runs` example (`cargo build --example synthetic_runs`), which
writes the same run folders `cargo bench --bench store` writes. On the
benchmark's data (ingest: 500 folders x 2,000 items; leaderboard: 10,000
runs, the default HTML page; compare: two 10,000-item runs, HTML) it
times, REPS times each (default 3, alternating, medians compared):

- the installed `tunix-rt` as a user runs it (`db ingest`, `report
  leaderboard -o`, `report compare -o`), the whole process: start-up,
  opening the index, the work, writing the page;
- the Python reference (bench/store_ref.py: duckdb + pandas + jinja2) as a
  user would run such a script, the whole process (interpreter start-up
  and imports included);
- the reference's own in-process figure (its work only, no start-up).

It prints each ratio against both reference figures, with the goals of
the store benchmark (ingest >= 5x, leaderboard and compare >= 3x).
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

GOALS = {"ingest": 5.0, "leaderboard": 3.0, "compare": 3.0}
REF = os.path.join(os.path.dirname(os.path.abspath(__file__)), "store_ref.py")


def wall(argv, cwd):
    """Seconds the process took, and its stdout; fails loudly."""
    start = time.perf_counter()
    out = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {out.returncode}:\n{out.stderr}")
    return seconds, out.stdout


def measure(name, reps, tunix, reference, cwd, before=None):
    """Medians of (tunix wall, reference wall, reference in-process)."""
    t, rw, ri = [], [], []
    for rep in range(reps):
        if before:
            before(rep)
        seconds, _ = wall(tunix(rep), cwd)
        t.append(seconds)
        seconds, out = wall([sys.executable, REF] + reference(rep), cwd)
        rw.append(seconds)
        ri.append(json.loads(out)["seconds"])
    t, rw, ri = (statistics.median(v) for v in (t, rw, ri))
    goal = GOALS[name]
    print(f"  {name:<12} tunix-rt {t:7.3f} s   python process {rw:7.3f} s ({rw / t:5.1f}x, "
          f"goal >= {goal}x: {'met' if rw / t >= goal else 'NOT met'})   "
          f"python in-process {ri:7.3f} s ({ri / t:5.1f}x)", flush=True)
    return rw / t >= goal


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    tunix = os.path.abspath(sys.argv[1])
    synth = os.path.abspath(sys.argv[2])
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    with tempfile.TemporaryDirectory() as ws:
        os.makedirs(os.path.join(ws, "submission_runs"))
        for what, items, runs in (("ingest", 2000, ["500"]),
                                  ("leaderboard", 12, ["10000"]),
                                  ("compare", 10000, ["run-a:0.6", "run-b:0.65"])):
            subprocess.run([synth, os.path.join(ws, what), str(items)] + runs,
                           check=True, stdout=subprocess.DEVNULL)
        for folder in ("leaderboard", "compare"):
            wall([tunix, "--db", f"{folder}.duckdb", "db", "ingest", "--runs", folder], ws)
        print(f"installed programs against bench/store_ref.py (median of {reps}); {tunix}")

        def fresh(rep):
            for side in ("tunix", "py"):
                path = os.path.join(ws, f"ingest-{side}-{rep}.duckdb")
                if os.path.exists(path):
                    os.remove(path)

        ok = measure("ingest", reps,
                     lambda rep: [tunix, "--db", f"ingest-tunix-{rep}.duckdb", "db", "ingest", "--runs", "ingest"],
                     lambda rep: ["ingest", "ingest", f"ingest-py-{rep}.duckdb"], ws, before=fresh)
        ok &= measure("leaderboard", reps,
                      lambda rep: [tunix, "--db", "leaderboard.duckdb", "report", "leaderboard", "-o", "lb.html"],
                      lambda rep: ["leaderboard", "leaderboard.duckdb"], ws)
        ok &= measure("compare", reps,
                      lambda rep: [tunix, "--db", "compare.duckdb", "report", "compare", "run-a", "run-b",
                                   "-o", "cmp.html"],
                      lambda rep: ["compare", "compare.duckdb", "run-a", "run-b"], ws)
    print("goals (against the reference run as a process):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
