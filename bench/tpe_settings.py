#!/usr/bin/env python3
"""How TPE's defaults were chosen: Optuna's own TPESampler with other settings.

Usage: bench/tpe_settings.py VARIANTS FIRST_SEED END_SEED

VARIANTS is a comma-separated list of the names below, the first one the
baseline (e.g. `default,g15,ei64`). For each of bench/search.py's three
objectives and each seed in [FIRST_SEED, END_SEED), it runs 50 trials of
Optuna's `TPESampler(seed=..., **variant)` and prints each variant's median
simple regret, its mean log10 regret, and on how many seeds it found a
better trial than the baseline. Our estimator follows Optuna's rule for
rule, so a setting that helps Optuna's TPE helps ours; choosing settings on
seeds other than the benchmark's (0-19) keeps the benchmark honest.
A variant may depend on the objective's space (`g15eid`: the candidates per
draw tunix-rt's TPE uses by default, 24 per two parameters).
docs/benchmarks.md#model-based-search has the runs behind `gamma: 0.15`
and the candidates per draw.
"""

import importlib.util
import math
import os
import statistics
import sys
import warnings

import numpy as np
import optuna

warnings.simplefilter("ignore", FutureWarning)
optuna.logging.set_verbosity(optuna.logging.WARNING)

_spec = importlib.util.spec_from_file_location(
    "search", os.path.join(os.path.dirname(os.path.abspath(__file__)), "search.py"))
search = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(search)


def linear_gamma(beta):
    return lambda n: min(int(math.ceil(beta * n)), 25)


VARIANTS = {
    "default": {},
    "g15": {"gamma": linear_gamma(0.15)},
    "ei48": {"n_ei_candidates": 48},
    "ei64": {"n_ei_candidates": 64},
    "ei128": {"n_ei_candidates": 128},
    "g15ei64": {"gamma": linear_gamma(0.15), "n_ei_candidates": 64},
    "unifw": {"weights": lambda n: np.ones(n)},
    "endpts": {"consider_endpoints": True},
    "g15ei48": {"gamma": linear_gamma(0.15), "n_ei_candidates": 48},
    "g15ei128": {"gamma": linear_gamma(0.15), "n_ei_candidates": 128},
    "g20": {"gamma": linear_gamma(0.20)},
    "g25": {"gamma": linear_gamma(0.25)},
    # 24 candidates per two dimensions of the space (at least 24).
    "g15eid": lambda space: {"gamma": linear_gamma(0.15),
                             "n_ei_candidates": 24 * max(1, math.ceil(len(space) / 2))},
    "g20ei64": {"gamma": linear_gamma(0.20), "n_ei_candidates": 64},
}


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    names = sys.argv[1].split(",")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        sys.exit(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    seeds = range(int(sys.argv[2]), int(sys.argv[3]))
    for objective in search.OBJECTIVES:
        space = search.OBJECTIVES[objective]["space"]
        settings = {v: VARIANTS[v](space) if callable(VARIANTS[v]) else VARIANTS[v] for v in names}
        results = {v: [search.optuna_regret(objective, s, 50, settings[v]) for s in seeds] for v in names}
        base = results[names[0]]
        for v in names:
            r = results[v]
            line = (f"{objective:<24} {v:<8} median {statistics.median(r):.4f} "
                    f"mean-log10 {statistics.mean(math.log10(max(x, 1e-9)) for x in r):+.3f}")
            if v != names[0]:
                better = sum(a < b for a, b in zip(r, base))
                line += f"   better than {names[0]} on {better}/{len(base)} seeds"
            print(line, flush=True)


if __name__ == "__main__":
    main()
