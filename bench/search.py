#!/usr/bin/env python3
"""Model-based search against Optuna: median simple regret of TPE.

Usage: bench/search.py TUNIX_RT [SEEDS] [TRIALS]

On three objectives with known optima -- Branin (2-D), Hartmann-6 (6-D)
and a noisy 4-parameter "learning rate x batch x decay x warmup" surface --
each served by a trivial command trainer (`sh` + `awk`: it reads the
trial's `params` and writes the objective as its metric), runs TRIALS
(default 50) trials per seed for SEEDS (default 20) seeds, three ways, in
the same run:

1. tunix-rt, `search: {tpe: {}}` (defaults), one trial at a time;
2. tunix-rt, `search: random`;
3. Optuna's default `TPESampler(seed=...)` (from PyPI), in process, on
   the same objective and space.

Simple regret = f(best trial) - f(optimum), with f noise-free (for the
noisy surface the best trial is chosen by its noisy metric, as a sweep
would). Prints the median regret per objective and method and the ratios
TPE / Optuna and TPE / random, and on how many seeds tunix-rt's TPE did at
least as well as Optuna's (paired by seed). Goal (issue: smarter search): tunix-rt TPE
<= Optuna TPE, and clearly below random search.
"""

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile

OBJECTIVE_SH = r"""#!/bin/sh
# objective.sh NAME SEED VALUES...: one metrics line with the objective.
name=$1; seed=$2; shift 2
awk -v name="$name" -v args="$*" -v seed="$seed" -v trial="$TUNIX_TRIAL_ID" '
function branin(x1, x2,   a, b, c, r, s, t) {
  a = 1; b = 5.1 / (4 * 3.141592653589793^2); c = 5 / 3.141592653589793
  r = 6; s = 10; t = 1 / (8 * 3.141592653589793)
  return a * (x2 - b * x1^2 + c * x1 - r)^2 + s * (1 - t) * cos(x1) + s
}
function hartmann6(x,   A, P, al, i, j, inner, outer) {
  split("10 3 17 3.5 1.7 8 0.05 10 17 0.1 8 14 3 3.5 1.7 10 17 8 17 8 0.05 10 0.1 14", A, " ")
  split("1312 1696 5569 124 8283 5886 2329 4135 8307 3736 1004 9991 2348 1451 3522 2883 3047 6650 4047 8828 8732 5743 1091 381", P, " ")
  split("1.0 1.2 3.0 3.2", al, " ")
  outer = 0
  for (i = 0; i < 4; i++) {
    inner = 0
    for (j = 0; j < 6; j++) inner += A[i*6+j+1] * (x[j+1] - P[i*6+j+1] / 10000)^2
    outer += al[i+1] * exp(-inner)
  }
  return -outer
}
BEGIN {
  n = split(args, v, " ")
  if (name == "branin") f = branin(v[1], v[2])
  else if (name == "hartmann6") f = hartmann6(v)
  else {
    # lr, batch, decay, warmup: a bowl in log-lr and log-batch with
    # Gaussian-ish noise from (seed, trial number): noise() in Python.
    f = 0.5 * (log(v[1]) / log(10) + 3)^2 + 0.1 * (log(v[2]) / log(2) - 5)^2 \
      + 2 * (v[3] - 0.1)^2 + ((v[4] - 100) / 200)^2
    k = substr(trial, 2) + 0; noise = 0
    for (i = 1; i <= 3; i++) { x = sin(seed * 12.9898 + k * 78.233 + i * 37.719); if (x < 0) x = -x; x = x * 43758.5453; noise += x - int(x) }
    f = f + (noise - 1.5) * 0.1
  }
  printf "{\"step\": 1, \"objective\": %.17g}\n", f
}' >> "$TUNIX_METRICS_FILE"
"""

# name -> (search space as YAML, command template args, optimum, true f)
PI = math.pi


def branin(p):
    x1, x2 = p["x1"], p["x2"]
    b, c, t = 5.1 / (4 * PI * PI), 5 / PI, 1 / (8 * PI)
    return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
     [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
     [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
ALPHA = [1.0, 1.2, 3.0, 3.2]


def hartmann6(p):
    x = [p[f"x{i}"] for i in range(1, 7)]
    return -sum(ALPHA[i] * math.exp(-sum(A[i][j] * (x[j] - P[i][j] / 1e4) ** 2 for j in range(6)))
                for i in range(4))


def surface(p):
    return (0.5 * (math.log10(p["lr"]) + 3) ** 2 + 0.1 * (math.log2(p["batch"]) - 5) ** 2
            + 2 * (p["decay"] - 0.1) ** 2 + ((p["warmup"] - 100) / 200) ** 2)


OBJECTIVES = {
    "branin": {
        "space": {"x1": ("uniform", -5.0, 10.0), "x2": ("uniform", 0.0, 15.0)},
        "optimum": 0.397887,
        "f": branin,
    },
    "hartmann6": {
        "space": {f"x{i}": ("uniform", 0.0, 1.0) for i in range(1, 7)},
        "optimum": -3.32237,
        "f": hartmann6,
    },
    "lr-batch-decay-warmup": {
        "space": {"lr": ("loguniform", 1e-5, 1e-1), "batch": ("choice", [8, 16, 32, 64, 128]),
                  "decay": ("uniform", 0.0, 0.3), "warmup": ("randint", 0, 500)},
        "optimum": 0.0,
        "f": surface,
    },
}


def noise(seed, k):
    """The noisy surface's noise for trial number k of a seed: the sum of
    three hash uniforms, centred, times 0.1 (the awk trainer computes the
    same doubles with the same libm), so all three methods see the same
    noise on the same trial number."""
    total = 0.0
    for i in (1, 2, 3):
        x = abs(math.sin(seed * 12.9898 + k * 78.233 + i * 37.719)) * 43758.5453
        total += x - math.floor(x)
    return (total - 1.5) * 0.1


def yaml_dist(d):
    kind = d[0]
    if kind == "choice":
        return "{ choice: [%s] }" % ", ".join(str(v) for v in d[1])
    return "{ %s: [%r, %r] }" % (kind, d[1], d[2])


def sweep_yaml(name, objective, seed, trials, search):
    obj = OBJECTIVES[objective]
    names = list(obj["space"])
    args = ", ".join(f'"{{{{ params.{n} }}}}"' for n in names)
    space = "\n".join(f"    params.{n}: {yaml_dist(d)}" for n, d in obj["space"].items())
    return f"""apiVersion: tunix-rt/v1
kind: Sweep
metadata: {{ name: {name} }}
spec:
  base:
    command: ["sh", "objective.sh", "{objective}", "{seed}", {args}]
    training: {{ learning_rate: 0.001, per_device_batch_size: 1, max_steps: 1 }}
  search_space:
{space}
  num_samples: {trials}
  metric: objective
  mode: min
  search: {search}
  seed: {seed}
"""


def tunix_regret(binary, ws, objective, seed, trials, search):
    name = f"{objective}-{'tpe' if 'tpe' in search else 'random'}-{seed}"
    path = os.path.join(ws, "manifests", f"{name}.yaml")
    with open(path, "w") as f:
        f.write(sweep_yaml(name, objective, seed, trials, search))
    subprocess.run([binary, "run", path, "--no-index"], cwd=ws, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(ws, "submission_runs", name, "sweep.json")) as f:
        ledger = json.load(f)
    best = ledger["best"]
    obj = OBJECTIVES[objective]
    params = {name.removeprefix("params."): value for name, value in best["params"].items()}
    return obj["f"](params) - obj["optimum"]


def optuna_regret(objective, seed, trials, settings=None):
    """Optuna's TPE regret after `trials` trials; `settings` are extra
    `TPESampler` arguments (bench/tpe_settings.py tries other defaults)."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    obj = OBJECTIVES[objective]

    def evaluate(trial):
        p = {}
        for n, d in obj["space"].items():
            if d[0] == "uniform":
                p[n] = trial.suggest_float(n, d[1], d[2])
            elif d[0] == "loguniform":
                p[n] = trial.suggest_float(n, d[1], d[2], log=True)
            elif d[0] == "randint":
                p[n] = trial.suggest_int(n, d[1], d[2])
            else:
                p[n] = trial.suggest_categorical(n, d[1])
        value = obj["f"](p)
        if objective == "lr-batch-decay-warmup":
            # The trainer's noise for the same seed and trial number.
            value += noise(seed, trial.number)
        trial.set_user_attr("true", obj["f"](p))
        return value

    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed, **(settings or {})))
    study.optimize(evaluate, n_trials=trials)
    return study.best_trial.user_attrs["true"] - obj["optimum"]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    trials = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    try:
        import optuna  # noqa: F401
    except ImportError:
        sys.exit("bench-search: needs optuna (pip install optuna)")
    print(f"{trials} trials x {seeds} seeds per objective; median simple regret (lower is better)")
    print(f"{'objective':<24} {'tunix TPE':>11} {'Optuna TPE':>11} {'tunix random':>13} "
          f"{'TPE/Optuna':>11} {'TPE/random':>11}")
    ok = True
    with tempfile.TemporaryDirectory() as ws:
        os.makedirs(os.path.join(ws, "manifests"))
        with open(os.path.join(ws, "objective.sh"), "w") as f:
            f.write(OBJECTIVE_SH)
        for objective in OBJECTIVES:
            tpe, rnd, opt = [], [], []
            for seed in range(seeds):
                tpe.append(tunix_regret(binary, ws, objective, seed, trials, "{ tpe: {} }"))
                rnd.append(tunix_regret(binary, ws, objective, seed, trials, "random"))
                opt.append(optuna_regret(objective, seed, trials))
            m_tpe, m_rnd, m_opt = (statistics.median(v) for v in (tpe, rnd, opt))
            ratio_opt = m_tpe / m_opt if m_opt > 0 else float("inf")
            ratio_rnd = m_tpe / m_rnd if m_rnd > 0 else float("inf")
            ok &= m_tpe <= m_opt and m_tpe < m_rnd
            paired = sum(t <= o for t, o in zip(tpe, opt))
            print(f"{objective:<24} {m_tpe:>11.4f} {m_opt:>11.4f} {m_rnd:>13.4f} "
                  f"{ratio_opt:>11.2f} {ratio_rnd:>11.2f}   (TPE <= Optuna on {paired}/{seeds} seeds)",
                  flush=True)
    print("goal (TPE <= Optuna TPE and < random on every objective):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
