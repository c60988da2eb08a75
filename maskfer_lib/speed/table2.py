"""``make bench``: the Table 2 analogue for this machine, integrated FPS and a bar chart.

    python -m maskfer_lib.speed.table2 [--profile quick] [--sizes 128 48] [--threads 2]
                                [--models putro_slim_rgc mobilenet_v2 ...] [--out DIR]

Writes into ``config.figures_dir(profile)`` (``figures/`` for quick and paper):

* ``timing.csv`` / ``.md`` — one row per model × input size × back end × protocol: params,
  FLOPs, median/p90 latency, FPS, the ratio to Slim + RGC in the same setting, the paper's
  Table 2 numbers, CPU model, cores and threads.
* ``timing_table2.csv`` / ``.md`` — the wide Table 2 analogue (forward FPS per setting).
* ``timing_ratios.csv`` / ``.md`` — how many times faster Slim + RGC is than each model in
  each setting (back end × size): the median of per-round FPS ratios over interleaved rounds
  in one process, with min, quartiles and max (``latency.interleaved``); the Table 2 "faster
  than" statements (:func:`speed_findings`) come from these, not from single timings.
  ``timing_rounds.csv`` holds every round.
* ``timing_native_paths.csv`` — which native Keras path is fastest (and so used).
* ``timing_detectors.csv`` / ``timing_integrated.csv`` — detector settings: latency and
  recall on 640×480 frames with one and with four SynthFACS faces, recall on the annotated
  wild photos where ``../shared/data`` has them; detector + Slim + RGC FPS on every face.
* ``timing_fps.png`` / ``.pdf`` — forward FPS per model, native vs ONNX Runtime.

Threads are pinned before TensorFlow starts (``--threads``, default 2).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from maskfer_lib import config, models, synth
from maskfer_lib.detect import detector_recall, make_detector, make_frames, photo_recall
from maskfer_lib.landmarks import parse_dlib_xml
from maskfer_lib.papers import putro
from maskfer_lib.plots import save_figure, use_style
from maskfer_lib.speed.flops import count_flops
from maskfer_lib.speed.latency import (
    benchmark_model,
    choose_native_path,
    cpu_count,
    cpu_model,
    export_onnx,
    integrated_benchmark,
    interleaved,
    machine_info,
    make_classifier,
    onnx_op_profile,
    set_threads,
    speed_ratios,
    time_detector,
)
from maskfer_lib.tables import save_table

PAPER_TABLE2_FPS = putro.TABLE2_FPS
"""Putro et al., Table 2 (Keras): FPS classification, FPS integrated (``papers.putro``)."""
PAPER_CPU = putro.TABLE2_CPU
REFERENCE = "putro_slim_rgc"
FACE_PX = (150, 300)
"""Side (px) of the pasted SynthFACS render in the 640x480 test frames (the face is ~60 %)."""

TABLE2_MODELS = [
    "putro_slim_rgc",
    "putro_slim",
    "mobilenet_v1",
    "mobilenet_v2",
    "mobilenet_v3",
    "shufflenet_v1",
    "shufflenet_v2",
    "ghostnet",
    "resnet18",
    "vgg16",
]
"""Putro's Table 2 models (+ Slim without RGC), in the order of the table."""

OTHER_MODELS = [
    "celik_cnn",
    "yang_stage1",
    "yang_mobilenet",
    "vgg11",
    "abn",
    "fecn",
    "yang_attention",
    "vgg19",
]
"""Models of the other papers, timed at the same sizes (``--models all``)."""


def _build(name: str, size: int, channels: int | None = None):
    """Full-width registry model at size×size (the paper's channel count unless given)."""
    spec = models.get_spec(name)
    c = spec.input_shape[2] if channels is None else channels
    config.seed_everything(0)  # same weights every run, so cached ONNX exports verify
    return models.build_model(name, input_shape=(size, size, c)), (size, size, c), spec


def choose_keras_path(size: int, runs: int, names=(REFERENCE, "mobilenet_v2"), skip=()):
    """Pick the native Keras path with the lowest summed median over ``names`` at ``size``
    (paths in ``skip`` are not tried)."""
    rows, totals = [], {}
    for name in names:
        try:
            model, shape, _ = _build(name, size)
        except (ImportError, AttributeError) as err:
            print(f"skip {name} in path choice: {err}")
            continue
        _, medians = choose_native_path(model, shape, runs=runs, warmup=5, skip=skip)
        for path, ms in medians.items():
            rows.append({"model": name, "size": size, "path": path, "median_ms": ms})
            totals[path] = totals.get(path, 0.0) + ms
    finite = {k: v for k, v in totals.items() if np.isfinite(v)}
    return (min(finite, key=finite.get) if finite else "tf.function"), rows


def build_models(names, size: int) -> dict:
    """``name -> (model, (H, W, C), spec)`` for every model of ``names`` at size×size
    (:func:`_build`); a model that cannot be built is skipped with a printed reason.

    :func:`time_models` and :func:`ratio_rounds` take this mapping, so each model of a
    setting is built once for both."""
    built = {}
    for name in names:
        try:
            built[name] = _build(name, size)
        except (ImportError, AttributeError, ValueError) as err:
            print(f"skip {name} at {size}: {type(err).__name__}: {err}")
    return built


def time_models(
    built: dict,
    size: int,
    runs,
    warmup,
    threads,
    keras_paths: dict,
    e2e_models=None,
    onnx_dir=None,
    backends=("native", "onnx"),
) -> list[dict]:
    """Rows of :func:`latency.benchmark_model` for every model of ``built`` (one size, from
    :func:`build_models`), with params/FLOPs.

    ONNX exports are cached under ``config.cache_dir()/onnx`` and reused only after they
    verify against the built model.
    """
    onnx_dir = Path(onnx_dir or config.cache_dir() / "onnx")
    rows = []
    for name, (model, shape, spec) in tqdm(built.items(), desc=f"timing models at {size}"):
        fw = models.framework_of(model)
        path = keras_paths.get(size) if fw == "keras" else None
        t0 = time.perf_counter()
        res = benchmark_model(
            model,
            shape,
            backends=backends,
            runs=runs,
            warmup=warmup,
            threads=threads,
            native_path=path,
            onnx_dir=onnx_dir / f"{name}_{size}",
            protocols=("forward",)
            if e2e_models is not None and name not in e2e_models
            else ("forward", "end_to_end"),
        )
        paper = PAPER_TABLE2_FPS.get(name, (np.nan, np.nan))
        for r in res:
            rows.append(
                {
                    "model": name,
                    "framework": fw,
                    "paper": spec.paper,
                    "input": f"{shape[0]}x{shape[1]}x{shape[2]}",
                    "size": size,
                    "params": models.count_params(model),
                    "gflops": count_flops(model, shape) / 1e9,
                    "paper_params": spec.paper_params,
                    "paper_gflops": spec.paper_gflops,
                    "paper_fps_classification": paper[0],
                    "paper_fps_integrated": paper[1],
                    **r,
                    "seconds": time.perf_counter() - t0,
                }
            )
    return rows


def ratio_rounds(
    built: dict,
    size: int,
    threads,
    rounds,
    runs,
    warmup,
    keras_paths: dict,
    backends=("native", "onnx"),
    onnx_dir=None,
):
    """Every model of ``built`` (one size, from :func:`build_models`: the models
    :func:`time_models` timed, not built again) timed in interleaved rounds, one back end at
    a time, forward protocol: :func:`latency.interleaved`'s rows with ``backend`` and
    ``size``. ONNX Runtime loads the exports :func:`time_models` wrote to ``onnx_dir``
    (default ``config.cache_dir()/onnx``) after they verify against these models."""
    onnx_dir = Path(onnx_dir or config.cache_dir() / "onnx")
    tables = []
    for backend in backends:
        fns = {}
        for name, (model, shape, _) in built.items():
            fwd, to_input, _, _ = make_classifier(
                model, backend, shape, threads, keras_paths.get(size),
                onnx_dir=onnx_dir / f"{name}_{size}",
            )  # fmt: skip
            x = to_input(np.random.default_rng(0).random((1, *shape), dtype=np.float32))
            fns[name] = lambda f=fwd, v=x: f(v)
        t = interleaved(fns, rounds=rounds, runs=runs, warmup=warmup)
        tables.append(t.assign(backend=backend, size=size))
    return pd.concat(tables, ignore_index=True)[
        ["backend", "size", "round", "name", "median_ms", "fps"]
    ]


def _free(built: dict) -> None:
    """Drop the models of one setting once they are timed, and Keras' graphs of them
    (memory grows from one setting to the next otherwise)."""
    keras_built = any(models.framework_of(m) == "keras" for m, _, _ in built.values())
    built.clear()
    if keras_built:
        import keras  # loaded already: a Keras model was built

        keras.backend.clear_session()


def rgc_op_costs(size: int = 48, threads: int = 1, runs: int = 200):
    """ONNX Runtime kernel time per operator type for Slim and Slim + RGC at ``size``
    (``latency.onnx_op_profile``): microseconds per run of each, and what RGC adds."""
    parts = {}
    for name in ("putro_slim", REFERENCE):
        model, shape, _ = _build(name, size)
        path = export_onnx(
            model, config.cache_dir() / "onnx" / f"profile_{name}_{size}.onnx", shape
        )
        x = np.random.default_rng(0).random((1, *shape), dtype=np.float32)
        parts[name] = onnx_op_profile(path, x, threads, runs).set_index("op")["us_per_run"]
    table = pd.DataFrame(parts).fillna(0.0)
    table["rgc_adds_us"] = table[REFERENCE] - table["putro_slim"]
    table.loc["total"] = table.sum()
    return table.sort_values(REFERENCE, ascending=False).reset_index(names="op")


def goals_table(ratios, reference: str = REFERENCE):
    """One row per setting (back end × size): Slim + RGC's median speed-up over MobileNetV2
    (goal >= 1.6) and its FPS relative to Slim (goal >= 0.75), with their ranges, and
    whether it beat every Table 2 baseline in every interleaved round."""
    rows = []
    for (backend, size), g in ratios.groupby(["backend", "size"], sort=False):
        g = g.set_index("model")
        rivals = g.drop(index=[m for m in (reference, "putro_slim") if m in g.index])
        row = {"backend": backend, "size": size, "baselines": len(rivals)}
        for name, col in (("mobilenet_v2", "over_mobilenet_v2"), ("putro_slim", "of_slim")):
            if name in g.index:
                row[f"speedup_{col}"] = g.loc[name, "speedup_median"]
                row[f"range_{col}"] = (
                    f"{g.loc[name, 'speedup_min']:.2f}-{g.loc[name, 'speedup_max']:.2f}"
                )
        row["faster_than_every_baseline_every_round"] = bool(rivals.faster_every_round.all())
        row["slowest_margin"] = float(rivals.speedup_min.min()) if len(rivals) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def speed_findings(ratios, reference: str = REFERENCE, baseline: str = "mobilenet_v2"):
    """Sentences on the Table 2 claims, from :func:`latency.speed_ratios`' table: how many
    times faster ``reference`` is than ``baseline`` per setting, and whether it beats every
    other model there (in every round, in the median only, or not)."""
    lines = []
    for (backend, size), g in ratios.groupby(["backend", "size"], sort=False):
        g = g[g.model != reference].set_index("model")
        where = f"{backend} {size}x{size}"
        if baseline in g.index:
            b = g.loc[baseline]
            lines.append(
                f"{where}: Slim + RGC runs {b.speedup_median:.2f}x MobileNetV2's FPS (median of "
                f"{b.rounds} interleaved rounds, range {b.speedup_min:.2f}-{b.speedup_max:.2f}; "
                "Putro's Table 2: 1.63x)."
            )
        rivals = g.drop(index=[m for m in ("putro_slim",) if m in g.index])
        slower = rivals[~rivals.faster_median].index.tolist()
        unsure = rivals[rivals.faster_median & ~rivals.faster_every_round].index.tolist()
        timed = f"all {len(rivals)} Table 2 baseline{'s' * (len(rivals) != 1)} timed here"
        if not slower and not unsure:
            lines.append(f"{where}: faster than {timed}, in every round.")
        elif not slower:
            lines.append(f"{where}: faster than {timed} in the median, but not in every round "
                         f"against {', '.join(unsure)}.")  # fmt: skip
        else:
            lines.append(f"{where}: not faster than {', '.join(slower)} (median ratio <= 1).")
        if "putro_slim" in g.index:
            sl = g.loc["putro_slim"]
            lines.append(f"{where}: Slim + RGC keeps {sl.speedup_median:.2f}x Slim's FPS "
                         f"(range {sl.speedup_min:.2f}-{sl.speedup_max:.2f}).")  # fmt: skip
    return lines


def add_ratios(df):
    """``ratio_to_slim_rgc``: FPS / Slim+RGC FPS in the same size, back end and protocol."""
    key = ["size", "backend", "protocol"]
    ref = df[df.model == REFERENCE].set_index(key)["fps"]
    df = df.copy()
    df["ratio_to_slim_rgc"] = [
        r.fps / ref.get(tuple(getattr(r, k) for k in key), np.nan) for r in df.itertuples()
    ]
    return df


def table2(df):
    """Wide Table 2 analogue: forward FPS per (size, back end), ratios, the paper's numbers."""
    fwd = df[df.protocol == "forward"]
    wide = fwd.pivot_table(index="model", columns=["backend", "size"], values="fps")
    wide.columns = [f"fps_{b}_{s}" for b, s in wide.columns]
    ratio = fwd.pivot_table(index="model", columns=["backend", "size"], values="ratio_to_slim_rgc")
    ratio.columns = [f"ratio_{b}_{s}" for b, s in ratio.columns]
    meta = fwd.groupby("model").agg(
        params=("params", "first"),
        paper_params=("paper_params", "first"),
        paper_gflops=("paper_gflops", "first"),
        paper_fps=("paper_fps_classification", "first"),
    )
    g128 = fwd[fwd["size"] == fwd["size"].max()].groupby("model")["gflops"].first()
    g48 = fwd[fwd["size"] == fwd["size"].min()].groupby("model")["gflops"].first()
    meta["gflops_max_size"], meta["gflops_min_size"] = g128, g48
    out = meta.join(wide).join(ratio)
    order = [m for m in TABLE2_MODELS + OTHER_MODELS if m in out.index]
    return out.loc[order].reset_index()


FACES_PER_FRAME = {1: FACE_PX, 4: (90, 150)}
"""Faces pasted per 640x480 test frame, and their side (px): one at arm's length, or four
smaller ones (a group in front of the camera)."""


def _wild_photos():
    # The annotated in-the-wild photos (43 faces in 9 photos) when ../shared/data has them.
    folder = config.SHARED_DATA / "wild" / "dlib_faces"
    xmls = [folder / f"{s}_with_face_landmarks.xml" for s in ("testing", "training")]
    return [a for x in xmls if x.is_file() for a in parse_dlib_xml(x)]


def integrated(
    profile, threads: int, runs: int, n_frames: int, seed: int = 0, classifier_sizes=(128, 48)
):
    """Detector settings (latency; recall on frames with one and with four faces and on the
    annotated wild photos) and detector + Slim+RGC integrated FPS, classifying every face,
    with the classifier at each of ``classifier_sizes``."""
    # Frontal faces: a webcam user faces the camera (and both detectors are frontal-only).
    faces = synth.generate(
        n_per_class=max(2, n_frames // 7 + 1), size=128, seed=seed, pose="frontal"
    ).images
    # A webcam user at arm's length fills about a third to a half of a 640x480 frame's height.
    sets = {
        k: make_frames(faces, n_frames, face_px=px, seed=seed + k, faces_per_frame=k)
        for k, px in FACES_PER_FRAME.items()
    }
    photos = _wild_photos()
    settings = [
        ("haar", 1.0, {"scale_factor": 1.1, "min_neighbors": 5, "min_size": 40}),
        ("haar", 0.5, {"scale_factor": 1.1, "min_neighbors": 5, "min_size": 40}),
        ("haar", 0.5, {"scale_factor": 1.2, "min_neighbors": 4, "min_size": 40}),
        ("haar", 0.25, {"scale_factor": 1.1, "min_neighbors": 4, "min_size": 24}),
        ("haar", 0.25, {"scale_factor": 1.2, "min_neighbors": 3, "min_size": 24}),
        ("hog", 1.0, {"upsample": 0}),
        ("hog", 0.75, {"upsample": 0}),
        ("hog", 0.5, {"upsample": 0}),
        ("hog", 0.33, {"upsample": 0}),
    ]
    if profile.timing_detector_scales:  # the first setting of each detector at each scale
        first = {}
        for kind, scale, kw in settings:
            if scale in profile.timing_detector_scales:
                first.setdefault((kind, scale), (kind, scale, kw))
        settings = list(first.values())
    det_rows, detectors = [], {}
    for kind, scale, kw in settings:
        label = f"{kind} x{scale:g} " + " ".join(f"{k}={v}" for k, v in kw.items())
        try:
            det = make_detector(kind, scale, **kw)
        except (ImportError, OSError) as err:  # e.g. an OpenCV build without Haar cascades
            det_rows.append({"detector": label, "kind": kind, "downscale": scale, **kw,
                             "note": f"unavailable: {err}", **machine_info(threads)})  # fmt: skip
            continue
        lat = time_detector(det, sets[1][0], runs=min(runs, 100), warmup=3)
        row = {"detector": label, "kind": kind, "downscale": scale, **kw,
               "median_ms": lat.median_ms, "p90_ms": lat.p90_ms, "fps": lat.fps}  # fmt: skip
        for k, (frames, boxes) in sets.items():
            rec = detector_recall(det, frames, boxes)
            row[f"recall_{k}_face{'s' * (k > 1)}"] = rec["recall"]
            row[f"false_per_frame_{k}"] = rec["false_per_frame"]
        row["recall"], row["false_per_frame"] = row["recall_1_face"], row["false_per_frame_1"]
        if photos:
            row.update(photo_recall(det, photos))
        else:
            row["note"] = "wild-photo recall not measured: ../shared/data/wild is absent"
        det_rows.append({**row, **machine_info(threads)})
        detectors[label] = det
    det_df = pd.DataFrame(det_rows)
    if "recall" not in det_df:
        raise RuntimeError("no face detector could be built; see detect.py's error messages")
    # Integrated FPS for every available detector setting, so the table shows the trade-off.
    int_rows = []
    for size in classifier_sizes:
        model, shape, _ = _build(REFERENCE, size)
        for backend in ("native", "onnx"):
            _, _, classify, info = make_classifier(
                model, backend, shape, threads, spin=False,
                onnx_dir=config.cache_dir() / "onnx" / f"{REFERENCE}_{size}",
            )  # fmt: skip
            for label, det in detectors.items():
                rec = det_df.set_index("detector").loc[label]
                for k, (frames, _) in sets.items():
                    res = integrated_benchmark(det, classify, frames, runs=runs, warmup=5)
                    int_rows.append(
                        {
                            "pipeline": f"{label} + {REFERENCE}@{size} ({backend})",
                            "detector": label,
                            "classifier": REFERENCE,
                            "classifier_input": f"{size}x{size}",
                            "backend": backend,
                            "frame": "640x480",
                            "faces_per_frame": k,
                            **res.as_dict(),
                            "recall": rec[f"recall_{k}_face{'s' * (k > 1)}"],
                            "photo_recall": rec.get("photo_recall", np.nan),
                            "detector_ms": rec["median_ms"],
                            "paper_fps_integrated": PAPER_TABLE2_FPS[REFERENCE][1],
                            **machine_info(threads),
                        }
                    )
    return det_df, pd.DataFrame(int_rows)


def fps_figure(df, cpu: str, threads: int):
    """Horizontal bars: forward FPS per model, native vs ONNX Runtime, one panel per size."""
    import matplotlib
    import matplotlib.pyplot as plt

    use_style()
    fwd = df[df.protocol == "forward"]
    sizes = sorted(fwd["size"].unique(), reverse=True)
    known = TABLE2_MODELS + OTHER_MODELS
    orders = {
        s: [
            m
            for m in known + sorted(set(fwd.model) - set(known))
            if m in set(fwd[fwd["size"] == s].model)
        ]
        for s in sizes
    }
    widths = [max(3, len(o)) for o in orders.values()]
    fig, axes = plt.subplots(
        1,
        len(sizes),
        figsize=(5.2 * len(sizes), 0.42 * max(widths) + 1.8),
        squeeze=False,
        gridspec_kw={"height_ratios": [1]},
    )
    colours = {"native": "#0072B2", "onnx": "#E69F00"}
    for ax, size in zip(axes[0], sizes, strict=True):
        order = orders[size]
        sub = fwd[fwd["size"] == size]
        y = np.arange(len(order))
        for j, backend in enumerate(("native", "onnx")):
            vals = sub[sub.backend == backend].set_index("model")["fps"].reindex(order)
            ax.barh(
                y + (j - 0.5) * 0.4,
                vals.values,
                height=0.4,
                color=colours[backend],
                label="Keras/torch native" if backend == "native" else "ONNX Runtime",
            )
        ax.axvline(200, color="k", ls="--", lw=0.8, label="200 FPS goal")
        ax.set_yticks(y, [("► " if m == REFERENCE else "") + m for m in order])
        ax.set_ylim(len(order) - 0.4, -0.6)
        ax.set_xscale("log")
        # Minor-tick labels of a log axis that spans less than a decade overlap; keep majors.
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("FPS, batch 1, forward pass (log scale)")
        ax.set_title(f"{size}×{size} input")
    axes[0][0].legend(loc="lower right", fontsize=8)
    fig.suptitle(
        f"Classifier speed on {cpu}, {threads} threads (median of timed runs)", fontsize=10
    )
    fig.tight_layout()
    return fig


MODEL_GROUPS = ("table2", "all")
"""Names ``--models`` takes besides registry names: Putro's Table 2 models, or every one."""


def unknown_models(names, groups: bool = True) -> list[str]:
    """The entries of ``names`` that are not registry models (nor, with ``groups``, one of
    :data:`MODEL_GROUPS`)."""
    allowed = set(models.REGISTRY) | (set(MODEL_GROUPS) if groups else set())
    return [n for n in names if n not in allowed]


def _unknown_message(bad, option: str = "--models", groups: bool = True) -> str:
    choices = f"{', '.join(MODEL_GROUPS)} or the registry" if groups else "the registry"
    return (
        f"{option}: unknown model name{'s' if len(bad) > 1 else ''} "
        f"{', '.join(map(repr, bad))}; choose from {choices} (maskfer_lib.models): "
        f"{', '.join(models.REGISTRY)}"
    )


def run_bench(
    profile: str = "quick",
    sizes=(128, 48),
    models=("table2",),
    threads: int = 2,
    runs: int | None = None,
    e2e=None,
    out=None,
    with_integrated: bool = True,
    frames: int | None = None,
    secondary=None,
    skip_paths=(),
) -> dict:
    """Everything ``make bench`` measures; writes the tables and figure; returns DataFrames.

    ``models``: names, ``"table2"`` or ``"all"``; ``e2e``: models also timed end to end
    (None = all); ``secondary``: models timed at the sizes after the first (None = all);
    ``skip_paths``: native Keras paths left out of the path comparison (e.g. the slow-to-
    compile ``"tf.function+xla"``).
    The smoke profile times only Slim + RGC and MobileNetV2 at the smallest size.

    Keys: ``timing`` (long), ``table2`` (wide), ``rounds`` and ``ratios`` (interleaved),
    ``findings`` (sentences), ``native_paths``, ``detectors``, ``integrated``, plus ``cpu``,
    ``threads``, ``out``.
    """
    prof = config.get_profile(profile)
    # Checked before anything is written: a bad name used to fail only after the path
    # comparison had written its table, leaving a partial set of files.
    bad = unknown_models(models)
    if bad:
        raise ValueError(_unknown_message(bad, "models"))
    bad = unknown_models(list(e2e or []) + list(secondary or []), groups=False)
    if bad:
        raise ValueError(_unknown_message(bad, "e2e/secondary", groups=False))
    names = []
    for m in models:
        names += (
            TABLE2_MODELS if m == "table2" else TABLE2_MODELS + OTHER_MODELS if m == "all" else [m]
        )
    names = list(dict.fromkeys(names))
    if prof.timing_only:
        names, sizes = [n for n in names if n in prof.timing_only], [min(sizes)]
        if not names:
            raise ValueError(
                f"the {prof.name} profile times only {', '.join(prof.timing_only)}; none of "
                f"{list(models)} is one of them (use --profile quick for other models)"
            )
    import tensorflow as tf

    try:  # threads must be pinned before TensorFlow's runtime starts
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        print(
            "TensorFlow was already running: its thread setting could not be changed "
            f"(in force: intra {tf.config.threading.get_intra_op_parallelism_threads()})"
        )
    set_threads(threads)
    out = Path(out) if out else config.figures_dir(prof.name)
    runs, warmup = runs or prof.timing_runs, prof.timing_warmup
    cpu = cpu_model()
    print(f"CPU: {cpu}; {cpu_count()} cores usable; threads = {threads}; runs = {runs}")

    paths, path_rows = {}, []
    for size in sizes:
        if prof.timing_only:  # seconds, not a measurement: skip the path comparison
            paths[size] = "tf.function"
            continue
        paths[size], rows = choose_keras_path(size, runs=max(20, runs // 4), skip=skip_paths)
        path_rows += rows
        print(f"fastest native Keras path at {size}x{size}: {paths[size]}")
    res = {"cpu": cpu, "threads": threads, "out": out}
    res["native_paths"] = pd.DataFrame(
        path_rows
        or [
            {"model": REFERENCE, "size": s, "path": p, "median_ms": float("nan")}
            for s, p in paths.items()
        ]
    )
    res["native_paths"] = res["native_paths"].assign(cpu=cpu, threads=threads)
    # Per size, each model is built once: timed alone (benchmark_model), then the models of
    # one setting take turns in interleaved rounds in one process (the ratios).
    rows, round_tables = [], []
    per_round = max(20, runs // 4)
    for i, size in enumerate(sizes):
        chosen = names if i == 0 or secondary is None else [n for n in names if n in secondary]
        built = build_models(chosen, size)
        rows += time_models(built, size, runs, warmup, threads, paths, e2e_models=e2e)
        if built:
            round_tables.append(
                ratio_rounds(built, size, threads, prof.timing_rounds, per_round, warmup, paths)
            )
        _free(built)
    if not rows:
        raise RuntimeError(
            f"none of {names} could be built and timed (see the 'skip' lines above); "
            "nothing written"
        )
    save_table(res["native_paths"], out, "timing_native_paths")
    res["rounds"] = pd.concat(round_tables, ignore_index=True).assign(cpu=cpu, threads=threads)
    save_table(res["rounds"], out, "timing_rounds")
    res["ratios"] = speed_ratios(res["rounds"].drop(columns=["cpu", "threads"]), REFERENCE)
    res["ratios"] = res["ratios"].assign(cpu=cpu, threads=threads)
    save_table(res["ratios"], out, "timing_ratios")
    res["findings"] = speed_findings(res["ratios"])
    df = add_ratios(pd.DataFrame(rows))
    res["timing"] = df
    save_table(df, out, "timing")
    res["table2"] = table2(df)
    save_table(res["table2"], out, "timing_table2")
    save_figure(fps_figure(df, cpu, threads), out, "timing_fps", close=True)
    if with_integrated:
        res["detectors"], res["integrated"] = integrated(
            prof,
            threads,
            runs,
            frames or prof.timing_frames,
            classifier_sizes=tuple(sizes),
        )
        save_table(res["detectors"], out, "timing_detectors")
        save_table(res["integrated"], out, "timing_integrated")
    return res


def main(argv=None) -> int:
    """Command-line entry point (see the module docstring).

    Model names (``--models``, ``--e2e``) and the profile are checked before anything is
    timed or written; a bad one exits with an argparse error (status 2) listing the valid
    names.
    """
    ap = argparse.ArgumentParser(
        prog="python -m maskfer_lib.speed.table2",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 48])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--models",
        nargs="+",
        default=["table2"],
        help="model names, 'table2' (Putro's) or 'all' (adds the other papers')",
    )
    ap.add_argument(
        "--e2e",
        nargs="*",
        default=None,
        help="models timed end to end too (default: all timed models)",
    )
    ap.add_argument("--runs", type=int, help="timed runs (default: the profile's timing_runs)")
    ap.add_argument("--frames", type=int, default=None, help="frames for detector recall")
    ap.add_argument("--no-integrated", action="store_true")
    ap.add_argument("--out", help="output folder (default: config.figures_dir(profile))")
    args = ap.parse_args(argv)
    for option, given, groups in (("--models", args.models, True), ("--e2e", args.e2e, False)):
        bad = unknown_models(given or [], groups)
        if bad:
            ap.error(_unknown_message(bad, option, groups))  # exits with status 2
    try:
        config.get_profile(args.profile)
    except ValueError as err:
        ap.error(f"--profile: {err}")
    res = run_bench(
        args.profile,
        args.sizes,
        args.models,
        args.threads,
        args.runs,
        args.e2e,
        args.out,
        not args.no_integrated,
        args.frames,
    )
    print(res["table2"].to_string())
    print("\n".join(res["findings"]))
    if "integrated" in res:
        print(
            res["detectors"][
                ["detector", "median_ms", "fps", "recall", "false_per_frame"]
            ].to_string()
        )
        cols = ["pipeline", "faces_per_frame", "median_ms", "p90_ms", "fps", "recall"]
        print(res["integrated"][cols].to_string())
    print(f"wrote {Path(res['out']) / 'timing.csv'} and friends")
    return 0


if __name__ == "__main__":
    sys.exit(main())
