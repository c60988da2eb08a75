"""CPU latency and FPS of classifiers and of the detector + classifier pipeline.

Protocol (docs/design.md, "Timing protocol"): batch 1, warm-up runs first, then the median and
90th percentile of at least ``Profile.timing_runs`` timed calls; threads pinned and reported;
CPU model and core count recorded with every row. Two protocols per model:

* ``forward`` — the paper's: the input is already a framework tensor; one forward pass,
  output copied back to numpy.
* ``end_to_end`` — a raw uint8 face crop goes in: resize + scale to the model's input,
  forward, softmax (skipped when the model already outputs probabilities).

Two back ends: ``native`` (Keras via a compiled ``tf.function``; torch under
``inference_mode``) and ``onnx`` (ONNX Runtime on a model exported here, checked against the
native outputs to 1e-4 before timing). :func:`choose_native_path` times the honest native
paths (``tf.function`` with a fixed input signature, the same with XLA, its traced
ConcreteFunction called directly, the same with variables frozen to constants,
``predict_on_batch``;
torch eager vs a frozen TorchScript trace) so the fastest can be chosen and named.

Comparisons between models (:func:`interleaved`, :func:`speed_ratios`): single timings on
this machine disagree by up to 2x from one run to the next (Slim + RGC at 48x48 in ONNX
Runtime: 3,115 and 6,239 FPS in two runs), so "A is faster than B" is measured in
interleaved rounds in one process (A B C, B C A, ...; warm-up first) and stated as the median
of the per-round FPS ratios with their spread, never from one run.

Integrated FPS (:func:`integrated_benchmark`) runs detector → crop → classifier on every
face of 640×480 frames holding one or several pasted faces (``detect.make_frames``), and
``detect.detector_recall`` / ``detect.photo_recall`` say what a faster detector setting costs in
found faces, on those frames and on annotated photos.
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from maskfer_lib.detect import crop_face
from maskfer_lib.envreport import cpu_count, cpu_model  # noqa: F401 - re-exported for timing tables
from maskfer_lib.explain import wrap_logits
from maskfer_lib.models import framework_of

ONNX_ATOL = 1e-4
"""ONNX outputs must match the native model within this absolute tolerance."""


class OnnxMismatchError(AssertionError):
    """The exported ONNX model's outputs differ from the native model's beyond tolerance."""


# --------------------------------------------------------------------------- machine


def set_threads(n: int) -> dict:
    """Pin intra-op threads of torch and TensorFlow (when imported) to ``n``; report what holds.

    TensorFlow accepts thread settings only before its runtime starts; once started, the
    value in force is reported instead (``tf_intra`` may then differ from ``n``).
    """
    info = {"threads": int(n)}
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.set_num_threads(int(n))
        info["torch_threads"] = torch.get_num_threads()
    if "tensorflow" in sys.modules:
        tf = sys.modules["tensorflow"]
        try:
            tf.config.threading.set_intra_op_parallelism_threads(int(n))
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass  # runtime already initialised: keep and report what is in force
        info["tf_intra"] = tf.config.threading.get_intra_op_parallelism_threads()
        info["tf_inter"] = tf.config.threading.get_inter_op_parallelism_threads()
    return info


def machine_info(threads: int | None = None) -> dict:
    """CPU model, usable cores and thread setting: the columns every timing table carries."""
    return {"cpu": cpu_model(), "cores": cpu_count(), "threads": threads}


# --------------------------------------------------------------------------- timing core


@dataclass
class TimingResult:
    """Latency statistics of one timed callable (milliseconds)."""

    median_ms: float
    p90_ms: float
    mean_ms: float
    min_ms: float
    runs: int
    warmup: int

    @property
    def fps(self) -> float:
        """Frames per second at the median latency."""
        return 1000.0 / self.median_ms if self.median_ms > 0 else float("inf")

    def as_dict(self) -> dict:
        """The fields plus ``fps``."""
        return {**asdict(self), "fps": self.fps}


def time_callable(fn: Callable[[], object], runs: int = 200, warmup: int = 20) -> TimingResult:
    """Call ``fn()`` ``warmup`` times untimed, then ``runs`` times timed one by one."""
    if runs < 1:
        raise ValueError(f"runs must be >= 1, got {runs}")
    for _ in range(max(0, warmup)):
        fn()
    times = np.empty(runs, dtype=np.float64)
    clock = time.perf_counter_ns
    for i in range(runs):
        t0 = clock()
        fn()
        times[i] = (clock() - t0) / 1e6
    return TimingResult(
        median_ms=float(np.median(times)),
        p90_ms=float(np.percentile(times, 90)),
        mean_ms=float(times.mean()),
        min_ms=float(times.min()),
        runs=runs,
        warmup=max(0, warmup),
    )


def interleaved(
    fns: dict[str, Callable[[], object]], rounds: int = 7, runs: int = 50, warmup: int = 10
):
    """Time several callables in interleaved rounds: one row per (round, name).

    Every callable is warmed up first; then each round times every callable ``runs`` times
    (the median of those is the round's latency), starting one place later in the list each
    round, so drifts of the machine (another job, a frequency change) fall on all of them.
    """
    import pandas as pd

    if rounds < 1 or not fns:
        raise ValueError(f"need at least one round and one callable; got {rounds}, {list(fns)}")
    names = list(fns)
    for name in names:
        for _ in range(max(0, warmup)):
            fns[name]()
    rows = []
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            res = time_callable(fns[name], runs, warmup=0)
            rows.append({"round": r, "name": name, "median_ms": res.median_ms, "fps": res.fps})
    return pd.DataFrame(rows)


def speed_ratios(rounds, reference: str):
    """How many times faster ``reference`` is than each other name, round by round.

    ``rounds`` is :func:`interleaved`'s table (extra key columns, e.g. back end and size,
    are kept). Per name: the median FPS over rounds, and ``speedup`` = reference FPS / its
    FPS in the same round, summarised as median, min, max and quartiles, with
    ``faster_every_round`` (the reference won every round) and ``faster_median``.
    """
    import pandas as pd

    keys = [c for c in rounds.columns if c not in ("round", "name", "median_ms", "fps")]
    out = []
    for key, g in rounds.groupby(keys, sort=False) if keys else [((), rounds)]:
        key = key if isinstance(key, tuple) else (key,)
        fps = g.pivot(index="round", columns="name", values="fps")
        if reference not in fps:
            raise ValueError(f"reference {reference!r} is not among {list(fps.columns)}")
        for name in fps.columns:
            ratio = fps[reference] / fps[name]
            out.append(
                {
                    **dict(zip(keys, key, strict=True)),
                    "model": name,
                    "fps_median": float(fps[name].median()),
                    "speedup_median": float(ratio.median()),
                    "speedup_min": float(ratio.min()),
                    "speedup_q1": float(ratio.quantile(0.25)),
                    "speedup_q3": float(ratio.quantile(0.75)),
                    "speedup_max": float(ratio.max()),
                    "rounds": int(ratio.notna().sum()),
                    "faster_every_round": bool((ratio > 1).all()),
                    "faster_median": bool(ratio.median() > 1),
                }
            )
    return pd.DataFrame(out)


# --------------------------------------------------------------------------- predictors


def input_shape_of(model, input_shape: Sequence[int] | None = None) -> tuple[int, int, int]:
    """(H, W, C) of one sample: given, or the Keras model's own input shape."""
    if input_shape is not None:
        return tuple(int(v) for v in input_shape)
    if framework_of(model, strict=False) == "keras":
        return tuple(int(v) for v in model.inputs[0].shape[1:])
    raise ValueError("input_shape=(H, W, C) is required for torch models")


def _keras_paths(model, shape) -> dict[str, Callable[[], Callable]]:
    """Builders of the honest native Keras paths; each built path maps a tf tensor to numpy."""
    import tensorflow as tf

    sig = [tf.TensorSpec((1, *shape), tf.float32)]

    def compiled(jit: bool):
        fn = tf.function(
            lambda x: model(x, training=False),
            input_signature=sig,
            autograph=False,  # a plain model call: nothing to convert, and no lambda warnings
            jit_compile=jit,
            reduce_retracing=True,
        )
        return lambda x: fn(x).numpy()

    def concrete():
        # Calling the traced ConcreteFunction skips tf.function's argument dispatch.
        cf = tf.function(
            lambda x: model(x, training=False), input_signature=sig, autograph=False
        ).get_concrete_function()
        return lambda x: cf(x).numpy()

    def frozen():
        # Variables folded into constants: no variable reads per call, and grappler can fold
        # inference BatchNorm into the convolutions. Same weights, same graph semantics.
        from tensorflow.python.framework.convert_to_constants import (
            convert_variables_to_constants_v2,
        )

        cf = tf.function(
            lambda x: model(x, training=False), input_signature=sig, autograph=False
        ).get_concrete_function()
        fz = convert_variables_to_constants_v2(cf)
        return lambda x: fz(x)[0].numpy()

    return {
        "tf.function": lambda: compiled(False),
        "tf.function+xla": lambda: compiled(True),
        "concrete_function": concrete,
        "frozen_graph": frozen,
        "predict_on_batch": lambda: lambda x: np.asarray(model.predict_on_batch(x)),
    }


def _torch_paths(model, shape) -> dict[str, Callable[[], Callable]]:
    """Builders of the honest native torch paths: eager ``inference_mode``, frozen trace."""
    import torch

    net = wrap_logits(model).eval()

    def eager():
        def run(x):
            with torch.inference_mode():
                return net(x).numpy()

        return run

    def frozen():
        with warnings.catch_warnings():  # TorchScript is deprecated but still the fastest here
            warnings.simplefilter("ignore", FutureWarning)
            with torch.no_grad():
                traced = torch.jit.freeze(
                    torch.jit.trace(net, torch.zeros(1, shape[2], *shape[:2]))
                )

        def run(x):
            with torch.inference_mode():
                return traced(x).numpy()

        return run

    return {"inference_mode": eager, "torchscript-freeze": frozen}


def to_native_input(model, x: np.ndarray):
    """An (N, H, W, C) float32 numpy batch as the model's framework tensor (NCHW for torch)."""
    if framework_of(model) == "keras":
        import tensorflow as tf

        return tf.convert_to_tensor(x, tf.float32)
    import torch

    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).float()


def native_paths(model) -> list[str]:
    """Names of the honest native paths for ``model``'s framework."""
    return list(
        (_keras_paths if framework_of(model) == "keras" else _torch_paths)(model, (1, 1, 1))
    )


def native_fn(model, input_shape=None, path: str | None = None) -> Callable:
    """Build one native path (default :func:`default_native_path`): tensor -> numpy."""
    shape = input_shape_of(model, input_shape)
    builders = (_keras_paths if framework_of(model) == "keras" else _torch_paths)(model, shape)
    path = path or default_native_path(model)
    if path not in builders:
        raise ValueError(f"unknown native path {path!r}; choose one of {list(builders)}")
    return builders[path]()


def default_native_path(model) -> str:
    """The native path used when none is chosen: compiled ``tf.function`` / ``inference_mode``."""
    return "tf.function" if framework_of(model) == "keras" else "inference_mode"


def choose_native_path(
    model, input_shape=None, runs: int = 30, warmup: int = 5, skip: Sequence[str] = ()
) -> tuple[str, dict]:
    """Time every native path (but ``skip``) briefly; return the fastest and all medians (ms)."""
    shape = input_shape_of(model, input_shape)
    x = to_native_input(model, np.random.default_rng(0).random((1, *shape), dtype=np.float32))
    medians = {}
    for name in native_paths(model):
        if name in skip:
            continue
        try:
            fn = native_fn(model, shape, name)
            medians[name] = time_callable(lambda fn=fn: fn(x), runs, warmup).median_ms
        except Exception as err:  # noqa: BLE001 - a path that fails to compile is reported, not fatal
            medians[name] = float("nan")
            print(f"native path {name} failed: {type(err).__name__}: {err}")
    finite = {k: v for k, v in medians.items() if np.isfinite(v)}
    return min(finite, key=finite.get), medians


# --------------------------------------------------------------------------- ONNX


def export_onnx(model, path: str | Path, input_shape=None, batch: int | None = 1) -> Path:
    """Export ``model`` to ONNX, float32 input in the framework's own layout.

    ``batch`` fixes the batch size (1: what timing measures); ``None`` leaves it dynamic
    (shipped weights). Keras: ``model.export(path, format="onnx")`` (tf2onnx) with a
    (batch, H, W, C) signature. torch: the logits of ``model`` (see
    :func:`explain.wrap_logits`) through ``torch.onnx.export`` — the TorchScript exporter
    first, the dynamo exporter as fallback.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = input_shape_of(model, input_shape)
    if framework_of(model) == "keras":
        import tensorflow as tf

        spec = [tf.TensorSpec((batch, *shape), tf.float32, name="input")]
        if not getattr(model, "_called", True):
            model(np.zeros((1, *shape), np.float32), training=False)
        model.export(str(path), format="onnx", input_signature=spec, verbose=False)
        return path
    import torch

    net = wrap_logits(model).eval()
    dummy = torch.zeros(batch or 2, shape[2], shape[0], shape[1])
    names = {"input_names": ["input"], "output_names": ["logits"]}
    try:
        axes = None if batch else {"input": {0: "n"}, "logits": {0: "n"}}
        torch.onnx.export(net, (dummy,), str(path), dynamic_axes=axes, dynamo=False, **names)
    except Exception:  # noqa: BLE001 - e.g. an op the legacy exporter lacks
        shapes = None if batch else ({0: torch.export.Dim("n", min=1)},)
        torch.onnx.export(net, (dummy,), str(path), dynamic_shapes=shapes, dynamo=True, **names)
    return path


def ort_session(path: str | Path, threads: int = 2, spin: bool = True):
    """An ONNX Runtime CPU session with ``threads`` intra-op threads, sequential execution.

    ``spin=False`` stops idle worker threads from busy-waiting after each run: slower for
    back-to-back classifier calls, but it leaves the cores to a face detector running between
    them (the integrated pipeline), which spinning threads otherwise steal.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if not spin:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.intra_op_num_threads = int(threads)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def onnx_op_profile(onnx_path, x: np.ndarray, threads: int = 1, runs: int = 200):
    """Where ONNX Runtime spends one forward pass: kernel microseconds per run by operator
    type (after graph optimisation, ``ORT_ENABLE_ALL``), from onnxruntime's own profiler.

    ``x`` is one input in the graph's layout. Returns a DataFrame: ``op``, ``us_per_run``,
    ``share`` (of all kernel time), ``nodes`` (optimised graph nodes of that type).
    """
    import json
    import os

    import onnxruntime as ort
    import pandas as pd

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(threads)
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.enable_profiling = True
    opts.profile_file_prefix = str(Path(tempfile.mkdtemp(prefix="maskfer_ortprof_")) / "p")
    session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    for _ in range(runs):
        session.run(None, {name: x})
    trace = session.end_profiling()
    events = json.loads(Path(trace).read_text())
    os.remove(trace)
    kernels = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    df = pd.DataFrame(
        {
            "op": [e["args"]["op_name"] for e in kernels],
            "node": [e["name"] for e in kernels],
            "us": [e["dur"] for e in kernels],
        }  # fmt: skip
    )
    out = df.groupby("op").agg(us=("us", "sum"), nodes=("node", "nunique")).reset_index()
    out["us_per_run"] = out["us"] / runs
    out["share"] = out["us"] / out["us"].sum()
    return out.sort_values("us", ascending=False)[["op", "us_per_run", "share", "nodes"]]


def ort_runner(session) -> Callable[[np.ndarray], np.ndarray]:
    """A callable numpy batch (framework layout) -> first output of ``session``."""
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def native_layout(model, x: np.ndarray) -> np.ndarray:
    """NHWC numpy in the layout the exported ONNX graph takes (NCHW for torch)."""
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if framework_of(model) == "torch" else x


def verify_onnx(
    model, session, input_shape=None, n: int = 3, atol: float = ONNX_ATOL, seed: int = 0
) -> float:
    """Max |ONNX - native| over ``n`` random inputs; raise :class:`OnnxMismatchError` above atol."""
    shape = input_shape_of(model, input_shape)
    run = ort_runner(session)
    native = native_fn(model, shape)
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(n):
        x = rng.random((1, *shape), dtype=np.float32)
        got = run(native_layout(model, x))
        want = native(to_native_input(model, x))
        worst = max(worst, float(np.max(np.abs(got - want))))
    if not worst <= atol:
        raise OnnxMismatchError(
            f"ONNX output differs from the native model by {worst:.3g} (> {atol:g}); the export "
            "changed the computation — check custom layers/ops, or time the native model only"
        )
    return worst


# --------------------------------------------------------------------------- end to end


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float32."""
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def outputs_are_probabilities(out: np.ndarray, atol: float = 1e-4) -> bool:
    """True when rows are non-negative and sum to 1 (a final softmax is already applied)."""
    out = np.asarray(out)
    return bool((out >= 0).all() and np.allclose(out.sum(axis=-1), 1.0, atol=atol))


def preprocess_crop(crop: np.ndarray, input_shape) -> np.ndarray:
    """A uint8 face crop (h, w, 3) RGB -> (1, H, W, C) float32 in [0, 1] for the model."""
    h, w, c = input_shape
    img = cv2.resize(crop, (w, h), interpolation=cv2.INTER_AREA)
    if c == 1:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[..., None] if img.ndim == 3 else img[..., None]
    return (img.astype(np.float32) * (1.0 / 255.0))[None]


def make_classifier(
    model,
    backend: str = "native",
    input_shape=None,
    threads: int = 2,
    native_path: str | None = None,
    onnx_dir: str | Path | None = None,
    verify: bool = True,
    spin: bool = True,
):
    """A fast ``(forward, end_to_end, info)`` pair for one model on one back end.

    Returns ``(forward, to_input, end_to_end, info)``: ``forward(to_input(x_nhwc))`` runs the
    model on a prepared input; ``end_to_end(crop_uint8)`` does preprocess + forward + softmax
    and returns class probabilities; ``info`` names the path, ONNX error and export time.
    With ``onnx_dir`` holding an earlier export of the same model, that file is reused only
    after it passes :func:`verify_onnx` against this model (else it is exported again).
    """
    shape = input_shape_of(model, input_shape)
    info = {"backend": backend}
    if backend == "native":
        path = native_path or default_native_path(model)
        fwd = native_fn(model, shape, path)
        info["path"] = path

        def to_input(x):
            return to_native_input(model, x)
    elif backend == "onnx":
        onnx_dir = Path(onnx_dir or tempfile.mkdtemp(prefix="maskfer_onnx_"))
        onnx_path = onnx_dir / f"{getattr(model, 'name', 'model')}.onnx"
        session = None
        if onnx_path.exists() and verify:
            # Reuse an earlier export only if it still reproduces this model's outputs.
            try:
                session = ort_session(onnx_path, threads, spin)
                info["onnx_max_abs_err"] = verify_onnx(model, session, shape)
                info["export_s"] = 0.0
            except Exception:  # noqa: BLE001 - stale or unreadable file: export afresh
                session = None
        if session is None:
            t0 = time.perf_counter()
            export_onnx(model, onnx_path, shape)
            info["export_s"] = time.perf_counter() - t0
            session = ort_session(onnx_path, threads, spin)
            if verify:
                info["onnx_max_abs_err"] = verify_onnx(model, session, shape)
        info["path"] = "onnxruntime"
        fwd = ort_runner(session)

        def to_input(x):
            return native_layout(model, x)
    else:
        raise ValueError(f"unknown backend {backend!r}; choose 'native' or 'onnx'")

    probe = fwd(to_input(np.zeros((1, *shape), np.float32)))
    already_proba = outputs_are_probabilities(probe)

    def end_to_end(crop):
        out = fwd(to_input(preprocess_crop(crop, shape)))
        return out if already_proba else softmax(out)

    info["softmax_in_model"] = already_proba
    return fwd, to_input, end_to_end, info


def benchmark_model(
    model,
    input_shape=None,
    backends: Sequence[str] = ("native", "onnx"),
    runs: int = 200,
    warmup: int = 20,
    threads: int = 2,
    native_path: str | None = None,
    crop_size: int = 160,
    onnx_dir: str | Path | None = None,
    seed: int = 0,
    protocols: Sequence[str] = ("forward", "end_to_end"),
) -> list[dict]:
    """Time one model: per back end, the forward protocol and end to end. One row each.

    Rows carry: backend, path, protocol, median_ms, p90_ms, mean_ms, min_ms, runs, warmup,
    fps, cpu, cores, threads (plus onnx_max_abs_err / export_s for ONNX).
    """
    shape = input_shape_of(model, input_shape)
    threads_info = set_threads(threads)
    rng = np.random.default_rng(seed)
    x = rng.random((1, *shape), dtype=np.float32)
    crop = rng.integers(0, 256, (crop_size, crop_size, 3), dtype=np.uint8)
    rows = []
    for backend in backends:
        fwd, to_input, e2e, info = make_classifier(
            model, backend, shape, threads, native_path, onnx_dir
        )
        xin = to_input(x)
        for protocol, fn in (
            ("forward", lambda f=fwd, v=xin: f(v)),
            ("end_to_end", lambda f=e2e: f(crop)),
        ):
            if protocol not in protocols:
                continue
            res = time_callable(fn, runs, warmup)
            rows.append(
                {
                    **{k: v for k, v in info.items() if k != "backend"},
                    "backend": backend,
                    "protocol": protocol,
                    **res.as_dict(),
                    **machine_info(threads),
                    **{k: v for k, v in threads_info.items() if k != "threads"},
                }
            )
    return rows


# --------------------------------------------------------------------------- integrated


def integrated_step(detector, classify: Callable[[np.ndarray], np.ndarray], margin: float = 0.1):
    """One frame through detector -> every face crop -> classifier (end to end)."""

    def step(frame):
        return [classify(crop_face(frame, box, margin=margin)) for box in detector(frame)]

    return step


def integrated_benchmark(
    detector, classify, frames: np.ndarray, runs: int = 200, warmup: int = 10
) -> TimingResult:
    """Per-frame latency of detector + crop + classifier, cycling through ``frames``."""
    step = integrated_step(detector, classify)
    it = iter(range(10**12))
    return time_callable(lambda: step(frames[next(it) % len(frames)]), runs, warmup)


def time_detector(detector, frames: np.ndarray, runs: int = 200, warmup: int = 5) -> TimingResult:
    """Per-frame latency of the detector alone (to show where integrated time goes)."""
    it = iter(range(10**12))
    return time_callable(lambda: detector(frames[next(it) % len(frames)]), runs, warmup)
