"""The cross-paper benchmark of notebook 10: every model, the same data, the same budget.

No paper compares the four approaches on identical data. Here each model is trained on the
same identity-disjoint split of one dataset twice — on masked faces and on unmasked faces —
for several seeds, with the same epochs, batch size and learning rate, then scored on both
test conditions of the same test faces: the 2×2 protocol of :mod:`maskfer_lib.protocol`
(U→U, U→M, M→M, M→U). Choices, and why:

* One label set for all (the dataset's own, 7 classes on SynthFACS/FER2013), because a
  cross-paper comparison needs one task; each paper's own label set is in its notebook.
* One input size for all (``input_size``), each model with its own channel count (Çelik's
  CNN sees the same faces in grayscale), so data, not resolution, is what is held equal.
* Heavy baselines keep the ``width_mult`` their profile gives them (documented in
  ``config``), so the quick profile stays in budget; the paper profile uses full widths.
* Multi-stage pipelines (FECN needs a trained MCN; Yang's approaches need stage 1 / an
  inpainter) are benchmarked through their single-network backbones (ABN, MCN-free VGG), as
  their own notebooks (04, 05) already compare them on their paper's label set.

Each (model, training condition, seed) result — one row per test condition — is written to
``out_dir/<setup tag>/<model>__<condition>__s<seed>.json`` as soon as it finishes, so an
interrupted run resumes where it stopped. The off-the-shelf peers (:mod:`maskfer_lib.peers`)
join the same table through :func:`peer_rows` (U→U and U→M only: they were trained on
unmasked faces by their authors).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from maskfer_lib import data, peers, shipped
from maskfer_lib.config import BENCH_MODELS, Profile, TrainCfg
from maskfer_lib.evaluate import evaluate
from maskfer_lib.models import build_model, get_spec
from maskfer_lib.protocol import CONDITIONS
from maskfer_lib.records import FaceDataset
from maskfer_lib.runs import train_and_record
from maskfer_lib.speed.flops import count_flops
from maskfer_lib.speed.latency import benchmark_model


@dataclass(frozen=True)
class BenchmarkSetup:
    """What is held equal across models."""

    input_size: int
    train: TrainCfg
    seeds: tuple[int, ...]
    models: tuple[str, ...] = BENCH_MODELS
    train_faces: int | None = None
    """Training faces, the same for every model, in the split's class proportions."""

    def tag(self) -> str:
        """A folder name that changes whenever the shared budget does (results are cached)."""
        t = self.train
        n = self.train_faces or "all"
        # "_2x2": each result holds both test conditions (older folders held one).
        return f"{self.input_size}px_e{t.epochs}_b{t.batch_size}_lr{t.lr:g}_n{n}_2x2"


def setup_for(profile: Profile) -> BenchmarkSetup:
    """The benchmark's shared setup for a profile: ``profile.bench`` (models, input size,
    seeds, training faces; ``config.py`` says why each profile has its own) and the budget
    ``profile.train_cfg("benchmark")``."""
    b = profile.bench
    return BenchmarkSetup(
        input_size=b.input_size,
        train=profile.train_cfg("benchmark"),
        seeds=b.seeds or profile.seeds,
        models=b.models,
        train_faces=b.train_faces,
    )


def run_one(
    name: str,
    condition: str,
    seed: int,
    splits_by_condition: dict[str, dict[str, FaceDataset]],
    setup: BenchmarkSetup,
    width_mult: float,
    out_dir: Path,
    dropout: float | None = None,
) -> list[dict]:
    """Train one model on ``condition``'s training faces with one seed and score it on the
    test faces of every condition; one row per test condition, cached in ``out_dir``.

    ``width_mult`` and ``dropout`` are the model's own (its profile ``TrainCfg``); the rest
    of the budget and the recipe are the benchmark's, the same for every model."""
    tag = f"{name}__{condition}__s{seed}"
    path = Path(out_dir) / setup.tag() / f"{tag}.json"
    if path.exists():
        return json.loads(path.read_text())
    spec = get_spec(name)
    shape = (setup.input_size, setup.input_size, spec.input_shape[2])
    splits = splits_by_condition[condition]
    train_ds, val_ds = splits["train"], splits["val"]
    tests = {c: s["test"] for c, s in splits_by_condition.items()}
    if setup.train_faces:
        train_ds = data.subsample(train_ds, setup.train_faces, seed)
    cfg = replace(setup.train, width_mult=width_mult, dropout=dropout)
    run = train_and_record(
        name, train_ds, val_ds, tests, cfg=cfg, class_names=train_ds.class_names,
        input_shape=shape, seed=seed, progress=False,
    )  # fmt: skip
    common = {
        "model": name,
        "paper": spec.paper,
        "framework": spec.framework,
        "train": condition,
        "seed": seed,
        "recipe": run.recipe,
        "params": run.params,
        "width_mult": width_mult,
        "input_shape": list(shape),
        "epochs": int(len(run.history)),
        "train_seconds": float(run.history["seconds"].sum()),
        "train_images_per_s": float(run.history["images_per_s"].median()),
        "n_train": len(train_ds),
    }
    rows = [{**common, "test": test, **_scores(res)} for test, res in run.results.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=2))
    return rows


def peer_rows(tests: dict[str, FaceDataset], names=None) -> list[dict]:
    """The off-the-shelf peers (``peers.available()`` unless ``names``) scored on each test
    condition, as benchmark rows (train ``"unmasked"``: their authors trained on FER2013)."""
    rows = []
    for name in names if names is not None else peers.available():
        peer = peers.load_peer(name)
        for test, ds in tests.items():
            res = evaluate(ds.labels, peer.predict_proba(ds.images, ds.class_names), ds.class_names)
            rows.append(
                {
                    "model": f"peer:{name}",
                    "paper": "peer",
                    "framework": peer.spec.framework,
                    "train": "unmasked",
                    "test": test,
                    "seed": 0,
                    "recipe": "pretrained (FER2013)",
                    "params": peer.params(),
                    "input_shape": [peer.spec.input_size, peer.spec.input_size, 1],
                    **_scores(res),
                }
            )
    return rows


def shipped_rows(tests: dict[str, FaceDataset], names=None) -> list[dict]:
    """This package's shipped models (``shipped.available()`` unless ``names``) scored on each
    test condition, as benchmark rows (train ``"masked"``: notebooks 02-05 train on masked
    FER2013). Only models whose classes are the test split's, in any order, are scored."""
    rows = []
    for name in names if names is not None else shipped.available():
        meta = shipped.card(name)
        order = list(meta["class_names"])
        for test, ds in tests.items():
            if sorted(order) != sorted(ds.class_names):
                continue
            probs = shipped.predict(ds.images, name)[:, [order.index(c) for c in ds.class_names]]
            res = evaluate(ds.labels, probs, ds.class_names)
            rows.append(
                {
                    "model": f"shipped:{name}",
                    "paper": "shipped",
                    "framework": "onnx",
                    "train": "masked",
                    "test": test,
                    "seed": 0,
                    "recipe": f"{meta.get('model_name')}, {meta.get('profile')} profile",
                    "params": None,
                    "input_shape": [meta["input"]["size"]] * 2 + [meta["input"]["channels"]],
                    **_scores(res),
                }
            )
    return rows


def _scores(res) -> dict:
    # What a benchmark row keeps of an EvalResult: its summary, size and confusion counts.
    return {**res.summary(), "n_test": res.n, "confusion": res.confusion.tolist()}


def run_benchmark(
    models,
    splits_by_condition: dict[str, dict[str, FaceDataset]],
    profile: Profile,
    out_dir: Path,
    setup: BenchmarkSetup | None = None,
) -> pd.DataFrame:
    """Every model × training condition × seed, each scored on both test conditions; one
    row per (model, train, test, seed) (resumes from ``out_dir``)."""
    setup = setup or setup_for(profile)
    missing = set(CONDITIONS) - set(splits_by_condition)
    if missing:
        raise ValueError(
            f"splits_by_condition lacks {sorted(missing)}; give both masked and unmasked splits"
        )
    jobs = [(m, c, s) for m in models for c in CONDITIONS for s in setup.seeds]
    rows = []
    for name, cond, seed in tqdm(jobs, desc="benchmark"):
        arch = profile.train_cfg(name)
        rows.extend(
            run_one(
                name,
                cond,
                seed,
                splits_by_condition,
                setup,
                arch.width_mult,
                out_dir,
                dropout=arch.dropout,
            )  # fmt: skip
        )
    return pd.DataFrame(rows)


def summarise(raw: pd.DataFrame, speed: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per model: M→M and U→U accuracy (mean ± std over seeds, mean 95 % interval), the
    masked − unmasked drop (−cost of the mask), per-class F1 and speed columns.

    ``raw`` has one row per (model, train, test, seed); ``speed`` (optional) has columns
    model, gflops, fps: joined on ``model``. The full 2×2 table is
    ``protocol.two_by_two(raw)``.
    """
    if raw.empty:
        raise ValueError("no benchmark rows to summarise")
    f1_cols = [c for c in raw.columns if c.startswith("f1_")]
    out = []
    for name, g in raw.groupby("model", sort=False):
        m = g[(g.train == "masked") & (g.test == "masked")]
        u = g[(g.train == "unmasked") & (g.test == "unmasked")]
        row = {
            "model": name,
            "paper": g.paper.iloc[0],
            "acc_masked_mean": m.accuracy.mean(),
            "acc_masked_std": m.accuracy.std(ddof=1) if len(m) > 1 else float("nan"),
            "acc_masked_lo": m.accuracy_lo.mean(),
            "acc_masked_hi": m.accuracy_hi.mean(),
            "majority_masked": m.majority.mean(),
            "acc_unmasked_mean": u.accuracy.mean(),
            "acc_unmasked_std": u.accuracy.std(ddof=1) if len(u) > 1 else float("nan"),
            "acc_unmasked_lo": u.accuracy_lo.mean(),
            "acc_unmasked_hi": u.accuracy_hi.mean(),
            "drop_masked_minus_unmasked": m.accuracy.mean() - u.accuracy.mean(),
            "macro_f1_masked": m.macro_f1.mean(),
            **{f"{c}_masked": m[c].mean() for c in f1_cols},
            **{f"{c}_unmasked": u[c].mean() for c in f1_cols},
            "params": int(g.params.iloc[0]),
            "seeds": len(m),
        }
        out.append(row)
    table = pd.DataFrame(out)
    if speed is not None and not speed.empty:
        table = table.merge(speed, on="model", how="left")
    return table


def per_class_drop(table: pd.DataFrame) -> pd.DataFrame:
    """Per model (rows) and class (columns): F1 on masked minus F1 on unmasked test faces,
    from :func:`summarise`'s table — where the mask costs each model, class by class."""
    classes = [
        c.removeprefix("f1_").removesuffix("_masked")
        for c in table.columns
        if c.startswith("f1_") and c.endswith("_masked")
    ]
    if not classes:
        raise ValueError("the table has no per-class F1 columns (f1_<class>_masked)")
    drop = {c: table[f"f1_{c}_masked"] - table[f"f1_{c}_unmasked"] for c in classes}
    return pd.DataFrame(drop).set_axis(table["model"].to_list())


def measure_speed(models, input_size: int, num_classes: int, profile: Profile) -> pd.DataFrame:
    """GFLOPs (profiler, FLOPs = 2 x MACs) and native batch-1 FPS at the benchmark input size."""
    rows = []
    for name in tqdm(list(models), desc="speed"):
        spec = get_spec(name)
        shape = (input_size, input_size, spec.input_shape[2])
        model = build_model(
            name,
            num_classes=num_classes,
            input_shape=shape,
            width_mult=profile.train_cfg(name).width_mult,
        )
        timing = benchmark_model(
            model,
            shape,
            backends=("native",),
            runs=profile.timing_runs,
            warmup=profile.timing_warmup,
        )
        forward = next(r for r in timing if r["protocol"] == "forward")
        rows.append(
            {
                "model": name,
                "gflops": count_flops(model, shape) / 1e9,
                "fps": forward["fps"],
                "latency_ms": forward["median_ms"],
            }
        )
    return pd.DataFrame(rows)


def plot_accuracy_vs_speed(
    table: pd.DataFrame,
    title: str | None = None,
    chance: float | None = None,
    majority: float | None = None,
):
    """Masked accuracy (mean ± std over seeds) against batch-1 FPS, one point per model;
    ``chance`` and ``majority`` (fractions) draw the chance level and the majority class."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    colours = {
        "celik": "tab:blue",
        "putro": "tab:orange",
        "yang": "tab:green",
        "hayashi": "tab:red",
    }
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for paper, g in table.groupby("paper"):
        ax.errorbar(
            g.fps,
            100 * g.acc_masked_mean,
            yerr=100 * g.acc_masked_std.fillna(0),
            fmt="o",
            color=colours.get(paper, "gray"),
            label=paper,
            capsize=3,
        )
    # A label goes above its point unless a neighbour at about the same speed (within 7 %)
    # sits higher (on a tie, the faster one goes above): alternating by FPS order alone put
    # the lower point's label above and the higher one's below, on top of each other.
    ordered = table.sort_values("fps")
    log_fps = np.log10(ordered.fps.to_numpy(dtype=float))
    accuracy = ordered.acc_masked_mean.to_numpy(dtype=float)
    rank = np.arange(len(ordered))
    for i, (_, r) in enumerate(ordered.iterrows()):
        near = np.abs(log_fps - log_fps[i]) < 0.03
        above_me = near & ((accuracy > accuracy[i]) | ((accuracy == accuracy[i]) & (rank > i)))
        ax.annotate(
            r.model,
            (r.fps, 100 * r.acc_masked_mean),
            textcoords="offset points",
            xytext=(5, -11 if above_me.any() else 4),
            fontsize=8,
        )
    if chance:
        ax.axhline(100 * chance, color="gray", ls=":", lw=1, label="chance")
    if majority:
        ax.axhline(100 * majority, color="tab:red", ls="--", lw=1, label="majority class")
    ax.set_xscale("log")
    # Plain numbers at 1-2-3-5 steps: "2 × 10²" tick labels make a reader do arithmetic.
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("frames per second (batch 1, CPU, log scale)")
    ax.set_ylabel("accuracy on masked test faces (%),\nmean ± std over seeds")
    ax.grid(alpha=0.3, which="both")
    ax.legend(title="paper", frameon=False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
