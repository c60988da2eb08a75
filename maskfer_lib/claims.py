"""What each paper claims, what we measured, and whether the claim holds — decided by code.

Each :class:`Claim` names a paper, the claim in a sentence, the paper's own number, and a
check that reads this project's results for one profile and dataset (:class:`Evidence`: the
saved runs of notebooks 02–05 and their seeded reruns, notebook 10's benchmark rows, notebook 08's timing table) and
returns a :class:`Finding` with our number ± its 95 % interval, the budget it was measured
at, and a verdict:

* ``holds`` — our result agrees, beyond the 95 % intervals where a comparison is made;
* ``does not hold`` — our result contradicts it beyond the intervals;
* ``not shown`` — the intervals overlap, so the data cannot decide;
* ``not testable here`` — the evidence is missing, or the claim is about the paper's own
  dataset and ours is another (the reason is given).

Absolute numbers (e.g. Çelik's 70.8 %) are compared on FER2013 only: SynthFACS is rendered
data, and no result on it confirms or refutes a number measured on real faces. Every paper's
number is read from ``maskfer_lib.papers`` (its printed tables), never typed in here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from maskfer_lib import evaluate, protocol
from maskfer_lib.config import figures_dir, runs_dir
from maskfer_lib.models import build_model, count_params
from maskfer_lib.papers import celik, hayashi, putro, yang
from maskfer_lib.runs import SEEDS_FOLDER
from maskfer_lib.speed.flops import count_flops
from maskfer_lib.speed.model_cost import PUTRO_MODELS

HOLDS, FAILS, NOT_SHOWN, UNTESTABLE = "holds", "does not hold", "not shown", "not testable here"
"""The four verdicts a :class:`Finding` can carry (the module docstring says when)."""
_BY_ORDER = {">": HOLDS, "<": FAILS, "≈": NOT_SHOWN}


@dataclass
class Evidence:
    """The results one profile and dataset produced, as the notebooks saved them."""

    dataset: str
    profile: str
    run_dir: Path
    bench: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Notebook 10's rows (model, train, test, seed, accuracy, accuracy_lo, accuracy_hi)."""
    timing: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Notebook 08's ``timing.csv`` (model, backend, protocol, size, fps)."""

    @classmethod
    def gather(cls, profile: str, dataset: str) -> Evidence:
        """Read what the notebooks of ``profile`` on ``dataset`` wrote (missing parts stay
        empty and make the claims that need them ``not testable here``)."""
        fig = figures_dir(profile, dataset)

        def read(name):
            path = fig / name
            return pd.read_csv(path) if path.is_file() else pd.DataFrame()

        bench = read("10_benchmark_runs.csv")
        peers = read("10_peer_runs.csv")
        if not {"train", "test", "accuracy_lo"} <= set(bench.columns):
            bench = pd.DataFrame()  # absent, or written before the 2×2 protocol: rerun 10
        return cls(
            dataset=dataset,
            profile=profile,
            run_dir=runs_dir(profile, dataset),
            bench=pd.concat([bench, peers], ignore_index=True),
            timing=read("timing.csv"),
        )

    def run(self, name: str, test: str = "masked") -> evaluate.EvalResult | None:
        """The saved test predictions of run ``name`` (``None`` when it was not trained)."""
        try:
            return evaluate.evaluate_saved(self.run_dir, name, split=f"test_{test}")
        except (FileNotFoundError, KeyError):
            return None

    def seed_runs(self, name: str, test: str = "masked") -> list[evaluate.EvalResult]:
        """The saved test predictions of ``name``'s seeded reruns (``runs.train_seeds``:
        ``<run_dir>/seeds/<name>_seed<k>``), in seed order; empty when there are none. The
        run at the profile's own seed is :meth:`run`."""
        folder = self.run_dir / SEEDS_FOLDER
        pattern = re.compile(rf"{re.escape(name)}_seed(\d+)")
        found = [pattern.fullmatch(n) for n in evaluate.list_runs(folder)]
        ordered = sorted((m for m in found if m), key=lambda m: int(m.group(1)))
        return [evaluate.evaluate_saved(folder, m.group(0), split=f"test_{test}") for m in ordered]

    def epochs(self, name: str) -> int | None:
        """Epochs run ``name`` trained for (its summary), or None."""
        try:
            return int(evaluate.load_run_summary(self.run_dir, name)["epochs"])
        except (FileNotFoundError, KeyError):
            return None


@dataclass(frozen=True)
class Finding:
    """Our side of one claim."""

    ours: str
    budget: str
    verdict: str
    why: str = ""


@dataclass(frozen=True)
class Claim:
    """One claim of one paper and the check that tests it on our results."""

    paper: str
    claim: str
    paper_value: str
    check: Callable[[Evidence], Finding]


def _interval(r: evaluate.EvalResult) -> tuple[float, float]:
    return (r.accuracy_lo, r.accuracy_hi)


def _text(r: evaluate.EvalResult) -> str:
    return evaluate.format_interval(r.accuracy, r.accuracy_lo, r.accuracy_hi)


def _measured(ev: Evidence, name: str) -> tuple[str, tuple[float, float]] | None:
    """``name``'s masked test accuracy as text and its 95 % interval: over its seeds
    (``evaluate.over_seeds``: the notebook's own run, at the profile's seed, and its seeded
    reruns) where it has reruns, else its one run; ``None`` when it was not trained."""
    main = ev.run(name)
    if main is None:
        return None
    results = [main, *ev.seed_runs(name)]
    if len(results) == 1:
        return _text(main), _interval(main)
    s = evaluate.results_over_seeds(results)
    spread = evaluate.format_mean_std(s["mean"], s["std"])
    text = f"{spread} [{100 * s['lo']:.1f}, {100 * s['hi']:.1f}] ({s['n']} seeds)"
    return text, (s["lo"], s["hi"])


def _missing(*names: str) -> Finding:
    return Finding("—", "—", UNTESTABLE, f"no saved run {', '.join(names)} in this profile")


_NO_BENCH = Finding("—", "—", UNTESTABLE, "no 2×2 benchmark rows here (run notebook 10)")


def _from_orders(orders, ours: str, budget: str, fails_why: str, not_shown_why: str) -> Finding:
    """The verdict of pairwise orders (``evaluate.order_by_interval``): any ``<`` does not
    hold, all ``>`` holds, anything else (an overlap, or no pair) is not shown."""
    orders = list(orders)
    if "<" in orders:
        return Finding(ours, budget, FAILS, fails_why)
    if orders and all(o == ">" for o in orders):
        return Finding(ours, budget, HOLDS)
    return Finding(ours, budget, NOT_SHOWN, not_shown_why)


def _absolute(name: str, target: float, paper_epochs: int, where: str):
    """A check: run ``name``'s masked accuracy against the paper's ``target`` on FER2013."""

    def check(ev: Evidence) -> Finding:
        r = ev.run(name)
        if r is None:
            return _missing(name)
        budget = f"{ev.epochs(name)} of the paper's {paper_epochs} epochs"
        if ev.dataset != "fer2013":
            return Finding(
                _text(r),
                budget,
                UNTESTABLE,
                f"the paper's number is on {where}; this is {ev.dataset}",
            )
        verdict = HOLDS if r.accuracy_hi >= target else FAILS
        why = "" if verdict == HOLDS else "below the paper's number beyond the 95 % interval"
        return Finding(_text(r), budget, verdict, why)

    return check


def _order(names: tuple[str, ...], labels: tuple[str, ...]):
    """A check: runs ``names`` rank in this order on masked test faces (each pair apart),
    over their seeds where they have several (:func:`_measured`)."""

    def check(ev: Evidence) -> Finding:
        measured = [_measured(ev, n) for n in names]
        absent = [n for n, m in zip(names, measured, strict=True) if m is None]
        if absent:
            return _missing(*absent)
        ours = ", ".join(f"{lab} {m[0]}" for lab, m in zip(labels, measured, strict=True))
        orders = [
            evaluate.order_by_interval(a[1], b[1])
            for a, b in zip(measured, measured[1:], strict=False)
        ]
        budget = ", ".join(f"{lab} {ev.epochs(n)} ep" for lab, n in zip(labels, names, strict=True))
        return _from_orders(
            orders, ours, budget,
            "a later model is above an earlier one beyond the intervals", "some intervals overlap",
        )  # fmt: skip

    return check


def _best_in_benchmark(name: str, rivals: tuple[str, ...]):
    """A check: ``name`` above every rival on M→M in notebook 10's benchmark."""

    def check(ev: Evidence) -> Finding:
        if ev.bench.empty:
            return _NO_BENCH
        cells = protocol.two_by_two(ev.bench).set_index("model")
        present = [m for m in rivals if m in cells.index]
        if name not in cells.index or not present:
            return Finding("—", "—", UNTESTABLE, f"{name} or its rivals are not in the benchmark")
        me = cells.loc[name]
        orders = {
            m: evaluate.order_by_interval(
                (me["M→M lo"], me["M→M hi"]), (cells.loc[m, "M→M lo"], cells.loc[m, "M→M hi"])
            )
            for m in present
        }
        ours = f"{100 * me['M→M']:.1f} %; " + ", ".join(
            f"{m} {100 * cells.loc[m, 'M→M']:.1f} ({o})" for m, o in orders.items()
        )
        return _from_orders(
            orders.values(), ours, "notebook 10's shared budget",
            "a rival is above it beyond the intervals", "some intervals overlap",
        )  # fmt: skip

    return check


def _best_of_runs(name: str, rivals: tuple[str, ...]):
    """A check: ``name`` above every rival on masked test faces, read from the notebooks'
    runs (notebook 03 trains Putro's models and baselines on the same faces, each at its
    own budget); without a rival run, from notebook 10's M→M (:func:`_best_in_benchmark`)."""
    in_benchmark = _best_in_benchmark(name, rivals)

    def check(ev: Evidence) -> Finding:
        me = _measured(ev, name)
        present = [(m, _measured(ev, m)) for m in rivals]
        present = [(m, r) for m, r in present if r is not None]
        if me is None or not present:
            return in_benchmark(ev)
        orders = [evaluate.order_by_interval(me[1], r[1]) for _, r in present]
        ours = f"{me[0]}; " + ", ".join(
            f"{m} {r[0]} ({o})" for (m, r), o in zip(present, orders, strict=True)
        )
        trained = [name, *(m for m, _ in present)]
        budget = ", ".join(f"{m} {ev.epochs(m)} ep" for m in trained) + " (notebook 03)"
        return _from_orders(
            orders, ours, budget,
            "a rival is above it beyond the intervals", "some intervals overlap",
        )  # fmt: skip

    return check


def _every_model(difference: str, what: str):
    """A check: one 2×2 difference is positive beyond the intervals for every model of
    notebook 10 that has both of its cells (the peers have only U→U and U→M, the shipped
    models only M→M and M→U)."""

    def check(ev: Evidence) -> Finding:
        if ev.bench.empty:
            return _NO_BENCH
        cells = protocol.two_by_two(ev.bench)
        cells = cells[np.isfinite(cells[difference])]
        verdicts = cells[f"{difference} verdict"].tolist()
        ours = ", ".join(
            f"{m} {100 * v:+.1f} ({o})"
            for m, v, o in zip(cells.model, cells[difference], verdicts, strict=True)
        )
        return _from_orders(
            verdicts, ours, f"notebook 10, {len(cells)} models",
            f"{what} is negative for some model",
            f"apart for {verdicts.count('>')} of {len(verdicts)} models",
        )  # fmt: skip

    return check


def _params(name: str, target: int, gflops: float):
    """A check: the model's parameter count and FLOPs at 48×48 against the paper's."""

    def check(ev: Evidence) -> Finding:
        model = build_model(name, num_classes=7, input_shape=(48, 48, 3))
        params, g = count_params(model), count_flops(model, (48, 48, 3)) / 1e9
        ok = abs(params - target) <= 0.01 * target and abs(g - gflops) <= 0.1 * gflops
        return Finding(f"{params:,} params, {g:.4f} GFLOPs at 48×48", "—", HOLDS if ok else FAILS)

    return check


def _faster_than(name: str, rivals: tuple[str, ...]):
    """A check: ``name``'s forward-pass FPS above every rival in each timing setting."""

    def check(ev: Evidence) -> Finding:
        t = ev.timing
        if t.empty or "protocol" not in t:
            return Finding("—", "—", UNTESTABLE, "notebook 08 has not written timing.csv here")
        t = t[t.protocol == "forward"]
        settings, wins = 0, 0
        for (_backend, _size), g in t.groupby(["backend", "size"]):
            fps = g.set_index("model")["fps"]
            others = [m for m in rivals if m in fps.index]
            if name not in fps.index or not others:
                continue
            settings += 1
            wins += int(all(fps[name] > fps[m] for m in others))
        if not settings:
            return Finding("—", "—", UNTESTABLE, "no timing setting holds the model and a rival")
        ours = f"fastest in {wins} of {settings} settings (backend × input size)"
        budget = "notebook 08"
        if {"runs", "warmup"} <= set(t.columns):
            budget = (
                f"median of {int(t.runs.median())} timed runs after {int(t.warmup.median())} "
                "warm-up, per model and setting (notebook 08)"
            )
        if wins == settings:
            return Finding(ours, budget, HOLDS)
        return Finding(ours, budget, FAILS, "a baseline is faster somewhere")

    return check


def _putro_baselines() -> tuple[str, ...]:
    return tuple(m for m in PUTRO_MODELS if not m.startswith("putro_"))


_PUTRO_BASELINES = _putro_baselines()

_CELIK_VAL = celik.TABLE2.loc["current accuracy (%)", "validation"]  # percent, Table 2
_RGC_PARAMS = putro.TABLE2_PARAMS["putro_slim_rgc"]
_RGC_GFLOPS = putro.TABLE2_GFLOPS["putro_slim_rgc"]
_MKDEF = putro.TABLE1_ACCURACY_MKDEF
_RGC_GAIN = 100 * (_MKDEF["putro_slim_rgc"] - _MKDEF["putro_slim"])  # points, Table 1
_BEST_BASELINE = max(_MKDEF[m] for m in _PUTRO_BASELINES)
_HAYASHI_ORDER = ("fecn", "vgg11", "abn")

CLAIMS: tuple[Claim, ...] = (
    Claim("celik", f"Çelik's CNN reaches {_CELIK_VAL:g} % validation accuracy on masked FER2013 (7 classes)",
          f"{_CELIK_VAL:g} %", _absolute("celik_cnn", _CELIK_VAL / 100, celik.TABLE2_EPOCHS, "masked FER2013")),
    Claim("putro", f"Slim + RGC has ~{_RGC_PARAMS // 1000}K parameters and {_RGC_GFLOPS:.3f} GFLOPs",
          f"{_RGC_PARAMS:,}; {_RGC_GFLOPS:.3f}", _params("putro_slim_rgc", _RGC_PARAMS, _RGC_GFLOPS)),
    Claim("putro", f"RGC improves the Slim backbone (Table 1: +{_RGC_GAIN:.2f} points on M-KDEF)",
          f"+{_RGC_GAIN:.2f}", _order(("putro_slim_rgc", "putro_slim"), ("Slim+RGC", "Slim"))),
    Claim("putro", "Slim + RGC beats the mobile baselines of Table 1 on identical data",
          f"{100 * _MKDEF['putro_slim_rgc']:.2f} % vs ≤ {100 * _BEST_BASELINE:.2f} %",
          _best_of_runs("putro_slim_rgc", _PUTRO_BASELINES)),
    Claim("putro", "Slim + RGC is faster than every Table 2 baseline on a CPU",
          f"{putro.TABLE2_FPS['putro_slim_rgc'][0]:.1f} FPS", _faster_than("putro_slim_rgc", _PUTRO_BASELINES)),
    Claim("yang", "Approach 2 (occlusion heat map) beats approach 1 (inpainting)",
          f"~{100 * yang.APPROACH2_ACCURACY:.0f} % vs {100 * yang.APPROACH1_ACCURACY:.0f} %",
          _order(("yang_attention", "yang_inpaint"), ("approach 2", "approach 1"))),
    Claim("hayashi", "FECN > VGG11 > ABN on masked faces (Table 3, 4 classes)",
          " > ".join(f"{hayashi.TABLE3.loc[m, 'total']:.1f}" for m in _HAYASHI_ORDER),
          _order(_HAYASHI_ORDER, ("FECN", "VGG11", "ABN"))),
    Claim("all", "Training on masked faces beats training on unmasked faces, tested on masked (M→M > U→M)",
          "premise of all four", _every_model("recovered_by_masked_training", "M→M − U→M")),
    Claim("all", "Masks cost accuracy even when a model trains on them (U→U > M→M)",
          "premise of all four", _every_model("cost_of_mask", "U→U − M→M")),
    Claim("all", "A model trained without masks loses accuracy on masked faces (U→U > U→M), "
          "the two off-the-shelf peers included", "premise of all four",
          _every_model("off_the_shelf_loss", "U→U − U→M")),
)  # fmt: skip
"""Every claim the summary page tests, in paper order."""


def summary_table(ev: Evidence, claims=CLAIMS) -> pd.DataFrame:
    """One row per claim: paper, claim, the paper's number, ours, budget, verdict, why."""
    rows = []
    for c in claims:
        f = c.check(ev)
        rows.append(
            {
                "paper": c.paper,
                "claim": c.claim,
                "paper's number": c.paper_value,
                "ours (95 % interval)": f.ours,
                "budget": f.budget,
                "verdict": f.verdict,
                "why": f.why,
            }
        )
    return pd.DataFrame(rows)
