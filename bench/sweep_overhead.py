#!/usr/bin/env python3
"""Scheduler overhead of a tunix-rt sweep, against Ray Tune.

Usage: bench/sweep_overhead.py TUNIX_RT [TRIALS]

Runs TRIALS (default 200) trials of a trivial external trainer (a Python
script that writes one metric line and exits) with max_concurrent_trials =
the core count, three ways, in the same run:

1. plain: the trainer run TRIALS times directly, CONCURRENCY at a time
   (the ideal: what the trials cost with no scheduler at all);
2. tunix-rt: `tunix-rt run sweep.yaml --no-index` (the trials' run
   folders, ledger and promotion included; the DuckDB ingest is a separate
   step and is timed on its own);
3. Ray Tune: a function trainable that reports one metric, TRIALS samples,
   the same concurrency, `ray.init` included (needs `ray[tune]`).

Prints wall ÷ ideal and the scheduler overhead per trial
((wall − ideal) × concurrency ÷ trials) for both, and Ray's wall ÷ ours.
Goals (issue: sweeps): overhead <= 25 ms per trial; >= 20x less wall time
than Ray Tune.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

TRAINER = """import json, os, sys
with open(os.environ["TUNIX_METRICS_FILE"], "a") as f:
    f.write(json.dumps({"step": 1, "val_loss": float(sys.argv[1])}) + "\\n")
"""

SWEEP = """apiVersion: tunix-rt/v1
kind: Sweep
metadata: {{ name: overhead }}
spec:
  base:
    command: ["{python}", "trainer.py", "{{{{ learning_rate }}}}"]
    training: {{ learning_rate: 0.5, per_device_batch_size: 1, max_steps: 1 }}
  search_space:
    learning_rate: {{ uniform: [0.001, 1.0] }}
  num_samples: {trials}
  metric: val_loss
  mode: min
  max_concurrent_trials: {concurrency}
"""


def plain(ws, trials, concurrency):
    """Wall seconds of the trainer run `trials` times, `concurrency` at once."""
    metrics = os.path.join(ws, "plain-metrics.jsonl")
    env = dict(os.environ, TUNIX_METRICS_FILE=metrics)
    start = time.perf_counter()
    running = []
    for i in range(trials):
        if len(running) == concurrency:
            running.pop(0).wait()
        running.append(
            subprocess.Popen([sys.executable, "trainer.py", str(i / trials)], cwd=ws, env=env)
        )
    for p in running:
        p.wait()
    return time.perf_counter() - start


def tunix(ws, binary, trials, concurrency):
    """Wall seconds of the sweep, then of indexing its trials."""
    with open(os.path.join(ws, "manifests", "sweep.yaml"), "w") as f:
        f.write(SWEEP.format(python=sys.executable, trials=trials, concurrency=concurrency))
    start = time.perf_counter()
    subprocess.run(
        [binary, "run", "manifests/sweep.yaml", "--no-index", "--yes", "--format", "json"],
        cwd=ws, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    with open(os.path.join(ws, "submission_runs", "overhead", "sweep.json")) as f:
        ledger = json.load(f)
    done = sum(1 for t in ledger["trials"] if t["state"] == "completed")
    if done != trials:
        sys.exit(f"sweep_overhead: only {done} of {trials} trials completed")
    start = time.perf_counter()
    subprocess.run([binary, "db", "ingest"], cwd=ws, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return wall, time.perf_counter() - start


def ray_tune(trials, concurrency):
    """Wall seconds of the same trials in Ray Tune (None without ray)."""
    try:
        import ray
        from ray import tune
    except ImportError:
        return None
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")

    def trainable(config):
        tune.report({"val_loss": config["learning_rate"]})

    start = time.perf_counter()
    ray.init(num_cpus=concurrency, include_dashboard=False, log_to_driver=False)
    tuner = tune.Tuner(
        trainable,
        param_space={"learning_rate": tune.uniform(0.001, 1.0)},
        tune_config=tune.TuneConfig(
            num_samples=trials, metric="val_loss", mode="min",
            max_concurrent_trials=concurrency,
        ),
        run_config=tune.RunConfig(storage_path=tempfile.mkdtemp(), verbose=0),
    )
    results = tuner.fit()
    wall = time.perf_counter() - start
    ray.shutdown()
    if len(results) != trials or results.errors:
        sys.exit(f"sweep_overhead: Ray Tune finished {len(results)} trials, errors {results.errors}")
    return wall


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    trials = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    concurrency = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as ws:
        os.makedirs(os.path.join(ws, "manifests"))
        with open(os.path.join(ws, "trainer.py"), "w") as f:
            f.write(TRAINER)
        ideal = plain(ws, trials, concurrency)
        wall, index = tunix(ws, binary, trials, concurrency)
    ray_wall = ray_tune(trials, concurrency)

    def overhead(w):
        return (w - ideal) * concurrency / trials * 1000

    print(f"{trials} trials of a trivial Python trainer, concurrency {concurrency}")
    print(f"{'':<22} {'wall s':>8} {'÷ ideal':>8} {'overhead ms/trial':>18}")
    print(f"{'plain (ideal)':<22} {ideal:>8.2f} {1:>8.2f} {0:>18.1f}")
    print(f"{'tunix-rt sweep':<22} {wall:>8.2f} {wall / ideal:>8.2f} {overhead(wall):>18.1f}")
    print(f"{'  + db ingest':<22} {index:>8.2f}")
    if ray_wall is None:
        print("Ray Tune               not installed (pip install 'ray[tune]')")
        return
    print(f"{'Ray Tune':<22} {ray_wall:>8.2f} {ray_wall / ideal:>8.2f} {overhead(ray_wall):>18.1f}")
    print(f"Ray Tune wall ÷ tunix-rt wall: {ray_wall / wall:.1f}x "
          f"(with the ingest: {ray_wall / (wall + index):.1f}x)")


if __name__ == "__main__":
    main()
