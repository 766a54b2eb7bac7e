#!/usr/bin/env python3
"""Start-up cost of the tunix-rt CLI, against the torch-loading worker.

Usage: bench/startup.py BIN_DIR [RUNS]

BIN_DIR holds `tunix-rt` and `tunix-rt-worker` (a target/debug or
target/release folder). Each command runs RUNS times (default 30); the
report gives the median wall time and the peak resident memory, and the
ratio against the reference measured in the same run: `tunix-rt-worker
--version`, which loads libtorch at start exactly as every tunix-rt command
did before the CLI was split from torch.

Goals (issue: torch-free CLI): `tunix-rt --version` <= 20 ms and <= 20 MB
resident; `validate` of one manifest <= 50 ms.
"""

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

MANIFEST = """apiVersion: tunix-rt/v1
kind: Train
metadata: { name: startup }
spec:
  model: { preset: gpt-nano }
  dataset: { name: dev-reasoning-v2 }
  training: { learning_rate: 1.0e-3, per_device_batch_size: 2, max_steps: 10 }
"""


def measure(argv, runs, cwd):
    """Median wall seconds and peak RSS (MiB) over `runs` runs of argv."""
    times, peaks = [], []
    for _ in range(runs):
        r, w = os.pipe()
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            os.chdir(cwd)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.execv(argv[0], argv)
        os.close(w)
        _, status, usage = os.wait4(pid, 0)
        times.append(time.perf_counter() - start)
        os.close(r)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"startup: {' '.join(argv)} failed ({status})")
        peaks.append(usage.ru_maxrss / 1024.0)
    return statistics.median(times), max(peaks)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    bin_dir = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    cli = os.path.join(bin_dir, "tunix-rt")
    worker = os.path.join(bin_dir, "tunix-rt-worker")
    for b in (cli, worker):
        if not os.access(b, os.X_OK):
            sys.exit(f"startup: {b} is missing; build it first (make build)")
    with tempfile.TemporaryDirectory() as ws:
        os.makedirs(os.path.join(ws, "manifests"))
        with open(os.path.join(ws, "manifests", "m.yaml"), "w") as f:
            f.write(MANIFEST)
        ref_t, ref_m = measure([worker, "--version"], runs, ws)
        rows = [
            ("tunix-rt --version", [cli, "--version"], 0.020, 20.0),
            ("tunix-rt validate manifests/m.yaml", [cli, "validate", "manifests/m.yaml"], 0.050, None),
            ("tunix-rt --help", [cli, "--help"], None, None),
        ]
        print(f"reference: tunix-rt-worker --version (loads libtorch): {ref_t * 1000:.1f} ms, {ref_m:.0f} MiB  ({runs} runs, median time, peak RSS)")
        for name, argv, t_goal, m_goal in rows:
            t, m = measure(argv, runs, ws)
            goal = []
            if t_goal is not None:
                goal.append(f"time goal {t_goal * 1000:.0f} ms: {'met' if t <= t_goal else 'MISSED'}")
            if m_goal is not None:
                goal.append(f"memory goal {m_goal:.0f} MiB: {'met' if m <= m_goal else 'MISSED'}")
            print(
                f"{name:<36} {t * 1000:7.1f} ms ({ref_t / t:5.1f}x faster)  "
                f"{m:6.1f} MiB ({ref_m / m:5.1f}x smaller)  {'; '.join(goal)}"
            )


if __name__ == "__main__":
    main()
