#!/usr/bin/env python3
"""Reference values for the statistics in src/scoring/stats.rs.

Writes tests/fixtures/stats_reference.json, which the Rust unit tests in
src/scoring/stats.rs load with include_str! and compare against.

How it was produced (from the repository root):

    python3 -m venv /tmp/statsenv
    /tmp/statsenv/bin/pip install scipy statsmodels
    /tmp/statsenv/bin/python bench/ref/stats_reference.py

Versions used for the committed fixture: Python 3.11.7, numpy 2.4.6,
scipy 1.17.1, statsmodels 0.15.0 (the script records the versions it ran
with in the fixture's "versions" field).

Sources of truth:
- normal quantiles: scipy.stats.norm.ppf
- Wilson intervals: statsmodels.stats.proportion.proportion_confint(method="wilson")
- exact McNemar p-values: statsmodels.stats.contingency_tables.mcnemar(exact=True),
  checked here against scipy.stats.binomtest(two-sided), which agrees whenever the
  discordant counts differ (for b == c binomtest's two-sided p is also 1)
- bootstrap intervals: scipy.stats.bootstrap(method="percentile", 100_000 resamples);
  the Rust bootstrap uses its own generator, so these are compared statistically
- Newcombe's paired interval: no scipy/statsmodels function exists, so it is computed
  here from statsmodels' Wilson intervals and the published formula, and checked
  against the worked example of Fagerland, Lydersen & Laake (Statistical Analysis of
  Contingency Tables, ch. 8: table [[59, 6], [16, 80]] -> -0.0621 (-0.1186 to -0.0046))
"""

import json
import math
import platform
import sys
from pathlib import Path

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import proportion_confint

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "stats_reference.json"


def normal_quantiles():
    ps = [0.5, 0.6, 0.8, 0.9, 0.95, 0.975, 0.995, 0.025, 0.07, 0.93, 1e-3, 1e-10, 1e-300, 1 - 1e-12]
    return [{"p": p, "z": float(stats.norm.ppf(p))} for p in ps]


def wilson_cases():
    cases = []
    for successes, n in [(0, 1), (1, 1), (0, 10), (3, 10), (10, 10), (50, 100),
                         (1, 1000), (999, 1000), (12345, 20000), (7, 29)]:
        for alpha in (0.05, 0.01):
            low, high = proportion_confint(successes, n, alpha=alpha, method="wilson")
            cases.append({
                "successes": successes, "n": n, "alpha": alpha,
                "z": float(stats.norm.isf(alpha / 2)),
                "low": float(low), "high": float(high),
            })
    return cases


def mcnemar_cases():
    cases = []
    pairs = [(0, 0), (1, 0), (0, 1), (5, 1), (1, 5), (6, 0), (3, 3), (20, 25), (25, 20),
             (300, 260), (2000, 2100), (0, 40), (49000, 50000), (10, 200)]
    for b, c in pairs:
        p = float(mcnemar([[0, b], [c, 0]], exact=True).pvalue)
        if b + c > 0:
            k = min(b, c)
            p_binom = float(stats.binomtest(k, b + c, 0.5, alternative="two-sided").pvalue)
            assert math.isclose(p, min(1.0, p_binom), rel_tol=1e-9, abs_tol=1e-12), (b, c, p, p_binom)
        cases.append({"b": b, "c": c, "p_value": p})
    return cases


def bootstrap_cases():
    rng = np.random.default_rng(20240501)
    datasets = {
        "beta_n50": rng.beta(2.0, 5.0, size=50),
        "uniform_n200": rng.uniform(0.0, 1.0, size=200),
        "skewed_n100": np.concatenate([np.zeros(85), rng.uniform(0.2, 1.0, size=15)]),
        "diffs_n80": rng.normal(0.05, 0.3, size=80).clip(-1.0, 1.0),
    }
    cases = []
    for name, values in datasets.items():
        res = stats.bootstrap((values,), np.mean, n_resamples=100_000, method="percentile",
                              confidence_level=0.95, rng=np.random.default_rng(7))
        cases.append({
            "name": name,
            "values": [float(v) for v in values],
            "mean": float(np.mean(values)),
            "sd": float(np.std(values, ddof=1)),
            "level": 0.95,
            "scipy_low": float(res.confidence_interval.low),
            "scipy_high": float(res.confidence_interval.high),
            "scipy_standard_error": float(res.standard_error),
        })
    return cases


def newcombe(both_right, a_right_b_wrong, a_wrong_b_right, both_wrong, alpha=0.05):
    """Newcombe (1998) method 10 for p_B - p_A, with the continuity-corrected phi."""
    n = both_right + a_right_b_wrong + a_wrong_b_right + both_wrong
    right_b = both_right + a_wrong_b_right
    right_a = both_right + a_right_b_wrong
    p1, p2 = right_b / n, right_a / n
    l1, u1 = proportion_confint(right_b, n, alpha=alpha, method="wilson")
    l2, u2 = proportion_confint(right_a, n, alpha=alpha, method="wilson")
    margins = right_b * (n - right_b) * right_a * (n - right_a)
    if margins == 0:
        phi = 0.0
    else:
        cross = both_right * both_wrong - a_wrong_b_right * a_right_b_wrong
        if cross > n / 2:
            corrected = cross - n / 2
        elif cross >= 0:
            corrected = 0.0
        else:
            corrected = cross
        phi = corrected / math.sqrt(margins)
    d = p1 - p2
    low = d - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    high = d + math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return max(-1.0, low), min(1.0, high)


def newcombe_cases():
    low, high = newcombe(59, 16, 6, 80)
    assert (round(low, 4), round(high, 4)) == (-0.1186, -0.0046), (low, high)
    tables = [(59, 16, 6, 80), (1, 7, 1, 12), (30, 5, 12, 53), (0, 0, 0, 10), (10, 0, 0, 0),
              (0, 10, 0, 0), (40, 3, 9, 48), (500, 40, 60, 400), (5, 2, 0, 3)]
    cases = []
    for t in tables:
        for alpha in (0.05, 0.01):
            low, high = newcombe(*t, alpha=alpha)
            cases.append({
                "both_right": t[0], "a_right_b_wrong": t[1], "a_wrong_b_right": t[2],
                "both_wrong": t[3], "alpha": alpha, "z": float(stats.norm.isf(alpha / 2)),
                "low": low, "high": high,
            })
    return cases


def main():
    fixture = {
        "generated_by": "bench/ref/stats_reference.py",
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "statsmodels": statsmodels.__version__,
        },
        "normal_quantile": normal_quantiles(),
        "wilson": wilson_cases(),
        "mcnemar": mcnemar_cases(),
        "bootstrap": bootstrap_cases(),
        "newcombe": newcombe_cases(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
