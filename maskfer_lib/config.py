"""Profiles, paths and seeds — the one place that says how big a run is.

Three profiles:
    smoke: seconds per notebook; used by the test suite.
    quick: ``make reproduce`` — all notebooks together, budget 30 minutes on 2 cores (34
        measured; README "Measured times").
    paper: the papers' own epochs, batch sizes, input sizes and recipes (days on a CPU).
    real: a real dataset (FER2013) at full size; several hours on 2 cores, resumable model by
        model (each finished run is reloaded, ``train.fit``'s ``resume``).

Profiles are plain frozen dataclasses so a notebook can print the one it runs with.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
"""The repository root (the folder holding pyproject.toml)."""

SHARED_DATA = ROOT.parent / "shared" / "data"
"""Where the development copy of real data lives, read in place, never copied."""


@dataclass(frozen=True)
class TrainCfg:
    """Training budget for one model in one profile."""

    epochs: int
    batch_size: int = 64
    lr: float = 1e-3
    width_mult: float = 1.0
    """Channel multiplier for heavy baselines; < 1 only in smoke/quick, documented there."""
    max_steps_per_epoch: int | None = None
    """Cap on batches per epoch (smoke only), so a notebook finishes in seconds."""
    dropout: float | None = None
    """Dropout rate handed to the model's builder (``None``: the builder's default); for
    models whose paper fixes the layers but not the rate."""
    input_size: int | None = None
    """Square input size the notebooks feed this model (``None``: the notebook's default,
    usually the paper's); set where a size was measured to train better (see the profile)."""
    recipe: str = "modern"
    """The training recipe (``maskfer_lib.recipe``): ``"modern"``, ``"paper"`` (the model's
    paper's own), or any name in ``recipe.RECIPES``."""


BENCH_MODELS = (
    "celik_cnn",
    "putro_slim",
    "putro_slim_rgc",
    "mobilenet_v2",
    "shufflenet_v2",
    "ghostnet",
    "vgg11",
    "abn",
    "vgg19",
    "yang_mobilenet",
)
"""Notebook 10's models in the paper profile: each paper's single networks and baselines."""

BENCH_MODELS_SMALL = ("celik_cnn", "putro_slim_rgc", "vgg11", "abn")
"""Çelik's, Putro's and Hayashi's models: what the smoke and quick budgets allow. Yang's
baselines (VGG19, MobileNet v1) are left out: from scratch on the 1,484 quick training faces
both stay at the class prior for 12 epochs under either recipe (measured, see below)."""

BENCH_MODELS_REAL = ("celik_cnn", "putro_slim", "putro_slim_rgc", "vgg11", "abn")
"""Real data in one sitting on 2 cores: each single-network paper's main model and its
baseline (Çelik's CNN; Slim and Slim + RGC; VGG11 and ABN), three seeds each, so the 2x2
table has error bars. MobileNetV2 is left out: from scratch at this budget (5,600 faces,
4 epochs, 48 px) it stays at the class prior on masked FER2013 (measured over seeds 0-2:
24.7, 24.7 and 25.8 % against a 25.0 % majority class, "happy" predicted for 76-84 % of
the faces). Notebook 03 compares it with Putro's models on the same faces at its own
budget (all 24,359 training faces), where it learns."""


@dataclass(frozen=True)
class BenchCfg:
    """What notebook 10 holds equal across models (its budget is ``train_cfg("benchmark")``)."""

    models: tuple[str, ...] = BENCH_MODELS
    input_size: int = 96
    seeds: tuple[int, ...] | None = None
    """``None``: the profile's ``seeds``."""
    train_faces: int | None = None
    """Training faces, the same for every model, in the split's class proportions
    (``data.subsample``; ``None``: all)."""


@dataclass(frozen=True)
class NotebookCfg:
    """The notebooks' choices that change with the profile, apart from training budgets
    (``Profile.train``): sizes, which models, what is shipped. Each notebook reads its own."""

    mask_whole_dataset: bool = False
    """Notebook 01 masks every split of a real dataset with every method (cached for 02-10)."""
    masking_faces_per_class: int = 80
    """Notebook 01: SynthFACS faces per class that every masking method masks."""
    masking_real_faces: int = 300
    """Notebook 01: faces in its masked sample of a real dataset."""
    sample_photos: int | None = None
    """Notebook 01: in-the-wild photos masked (``None``: all)."""
    putro_models: tuple[str, ...] | None = None
    """Notebook 03's trained models (``None``: all ten of Table 1)."""
    putro_table_models: tuple[str, ...] | None = None
    """Models in notebook 03's parameter/FLOP table (``None``: all ten)."""
    putro_masks: str = "celik"
    """Notebook 03's masking method (Putro's masks came from MaskTheFace, closest: template)."""
    putro_input: int = 48
    """Notebook 03's input side unless a model's ``TrainCfg.input_size`` says otherwise."""
    putro_pretrain_epochs: int = 1
    """Epochs on unmasked faces before the masked ones (Putro: 50 on KDEF)."""
    putro_train_per_class: int | None = None
    """Notebook 03's cap on training faces per class (``None``: the whole split)."""
    yang_input: int = 64
    yang_inpaint_input: int | None = None
    """Approach 1's input side (``None``: ``yang_input``)."""
    yang_backbone: str = "small"
    """Approach 2's stage-2 feature extractor (``models/torch/yang.py``)."""
    yang_heat_stride: int = 16
    yang_gan_epochs: int | None = None
    """Approach 1's inpainting GAN epochs (``None``: half the model's budget, at least 1)."""
    yang_baselines: tuple[str, ...] = ("vgg19", "yang_mobilenet")
    yang_heatmap_faces: int = 400
    """Training faces behind the occlusion heat-map stage (each masked and unmasked)."""
    hayashi_input: int = 64
    seeded_models: tuple[str, ...] = ()
    """Models of notebooks 04 and 05 trained once more under each other seed of
    ``Profile.seeds`` (``runs.train_seeds``), so their tables give mean ± std: those that
    train in at most about 5 minutes in the profile."""
    ship_weights: str | None = None
    """Notebook 06: ``"package"`` exports the best runs to ``maskfer_lib/weights`` (real
    data only), ``"run_dir"`` to the run folder (tests), ``None`` ships nothing."""
    cam_faces_per_class: int = 2
    """Notebook 07's faces per class in the CAM galleries."""
    time_everything: bool = False
    """Notebook 08 times every model at every size end to end, XLA path included."""
    demo_frames: int = 60


@dataclass(frozen=True)
class Profile:
    """How large every step of the compendium runs."""

    name: str
    synth_per_class: int
    """SynthFACS faces per class, all splits together (split 70/15/15 by identity)."""
    real_per_class: int | None = None
    """Cap on a real dataset's faces per class, all splits together (``None``: all of it);
    small profiles take a few so a notebook on FER2013 finishes in their time."""
    image_size: int = 128
    """SynthFACS render size; models resize to their own input size."""
    synth_pose: str = "kdef"
    """SynthFACS head poses: ``"kdef"`` (five yaw bins, as KDEF) or ``"frontal"`` (yaw
    jitter only). Small budgets use frontal faces: with KDEF's poses and a few epochs on
    ~1,500 faces every model overfits (Slim + RGC: 75% train, 23% validation, measured)."""
    seeds: tuple[int, ...] = (0,)
    """Seeds for the cross-paper benchmark (mean ± std over these)."""
    kfolds: int = 0
    """Putro's k-fold CV (0 = a single split)."""
    timing_runs: int = 200
    timing_warmup: int = 20
    timing_rounds: int = 7
    """Interleaved rounds behind every speed ratio (``speed.latency.interleaved``), each of
    ``timing_runs // 4`` timed calls per model (at least 20)."""
    timing_only: tuple[str, ...] | None = None
    """``make bench`` times only these models, at the smallest size, without comparing
    native Keras paths (``None``: what the command asks for)."""
    timing_frames: int = 60
    """640x480 frames behind each detector recall and integrated FPS."""
    timing_detector_scales: tuple[float, ...] | None = None
    """Detector downscales tried (one setting per detector and scale; ``None``: all)."""
    demo_train_faces: int = 1500
    """The demo's fallback classifier (no trained run): training faces, at most."""
    demo_epochs: int | None = None
    """... and its epochs (``None``: the model's budget in the profile)."""
    train_faces: int | None = None
    """Training faces of notebooks 04 and 05 (``None``: the whole split), drawn with the
    split's own class proportions (``data.subsample``). A cap per class would change the
    class priors: on FER2013, Yang's models trained on 1,500 faces per class predicted the
    three groups about equally often and approach 1 fell below the majority class of the
    test split (42.8 % against 46.6 %, negative recall 54 %, measured)."""
    mu_faces: int = 250
    """Training faces that become Hayashi's MU-dataset (each once unmasked, once masked):
    250 give the paper's "about 500" training images, in every profile."""
    bench: BenchCfg = BenchCfg()
    """Notebook 10's shared setup (``crosspaper.setup_for``)."""
    notebook: NotebookCfg = NotebookCfg()
    """The notebooks' other profile-dependent choices."""
    train: dict[str, TrainCfg] = field(default_factory=dict)
    default_train: TrainCfg = TrainCfg(epochs=1)

    def train_cfg(self, model_name: str) -> TrainCfg:
        """The training budget for ``model_name`` (the profile default when not listed)."""
        return self.train.get(model_name, self.default_train)

    def with_overrides(self, **kwargs) -> Profile:
        """A copy with some fields replaced (e.g. ``synth_per_class=50``)."""
        return replace(self, **kwargs)


_SMOKE_TRAIN = TrainCfg(epochs=1, batch_size=32, max_steps_per_epoch=3, width_mult=0.25)

PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        synth_per_class=24,
        real_per_class=24,
        synth_pose="frontal",
        image_size=64,
        seeds=(0,),
        kfolds=0,
        timing_runs=20,
        timing_warmup=3,
        timing_rounds=3,
        timing_only=("putro_slim_rgc", "mobilenet_v2"),
        timing_frames=20,
        timing_detector_scales=(0.5,),
        demo_train_faces=64,
        demo_epochs=1,
        bench=BenchCfg(BENCH_MODELS_SMALL, input_size=32, train_faces=56),
        notebook=NotebookCfg(
            masking_faces_per_class=3,
            masking_real_faces=24,
            sample_photos=4,
            putro_models=("putro_slim_rgc",),
            putro_train_per_class=10,
            putro_table_models=("putro_slim", "putro_slim_rgc", "mobilenet_v2"),
            seeded_models=("vgg11", "yang_attention"),
            ship_weights="run_dir",
            cam_faces_per_class=1,
            demo_frames=12,
        ),  # fmt: skip
        default_train=_SMOKE_TRAIN,
    ),
    "quick": Profile(
        name="quick",
        synth_per_class=300,
        real_per_class=300,
        synth_pose="frontal",
        image_size=128,
        seeds=(0, 1),
        kfolds=0,
        # 100 timed runs give a stable median on a quiet machine; the paper profile times
        # 1,000 (`make bench PROFILE=paper`). Notebook 08 took 401 s at 200 runs, 342 at 100.
        timing_runs=100,
        timing_warmup=10,
        # The whole SynthFACS training split and one seed: at 120 faces per class and 8
        # epochs all five models stayed within 15 points of chance (measured).
        bench=BenchCfg(BENCH_MODELS_SMALL, input_size=48, seeds=(0,)),
        # MobileNetV2 (the baseline Slim improves on) took 170 s for 30.5 % validation at
        # 64 px in 12 epochs: out of the quick budget. Yang's VGG19 and MobileNet v1 stay at
        # the class prior on these faces (see the budgets below).
        notebook=NotebookCfg(putro_models=("putro_slim", "putro_slim_rgc"), yang_baselines=()),
        default_train=TrainCfg(epochs=12, batch_size=32, lr=1e-3),
        train={
            # Budgets measured on the quick SynthFACS split (1,484 training faces), modern
            # recipe, batch 32 (twice the steps of batch 64 on so few faces):
            # Çelik: the paper fixes Dropout layers in every block but not their rate. At
            # 0.25 the half-width CNN stayed at chance for 6+ epochs with any recipe; at 0.1
            # it reached 39 % validation in 12 epochs, at 0 81 % (unmasked faces, 78 s).
            # On masked faces the paper's recipe (Adam + plateau) reached 66.6 % validation
            # in 12 epochs, the modern one 40.9 % (still climbing): chosen by validation.
            "celik_cnn": TrainCfg(
                epochs=12, batch_size=32, lr=1e-3, width_mult=0.5, dropout=0.0, recipe="paper"
            ),
            # Putro's Slim, 12 epochs: 48 px 74.7 % validation (42 s), 64 px 78.9 % (57 s),
            # 96 px 89.9 % (86 s) -- at 48 px the last feature map is 2x2 (stride 32).
            "putro_slim": TrainCfg(epochs=12, batch_size=32, lr=2e-3, input_size=64),
            "putro_slim_rgc": TrainCfg(epochs=12, batch_size=32, lr=2e-3, input_size=64),
            "mobilenet_v2": TrainCfg(epochs=12, batch_size=32, lr=2e-3, input_size=64),
            "mobilenet_v1": TrainCfg(epochs=5, batch_size=32, lr=1e-3, width_mult=0.5),
            "mobilenet_v3": TrainCfg(epochs=5, batch_size=32, lr=1e-3, width_mult=0.5),
            "shufflenet_v1": TrainCfg(epochs=5, batch_size=32, lr=1e-3),
            "shufflenet_v2": TrainCfg(epochs=5, batch_size=32, lr=1e-3, width_mult=0.5),
            "ghostnet": TrainCfg(epochs=5, batch_size=32, lr=1e-3, width_mult=0.5),
            "vgg16": TrainCfg(epochs=5, batch_size=32, lr=1e-3, width_mult=0.25),
            "resnet18": TrainCfg(epochs=5, batch_size=32, lr=1e-3, width_mult=0.25),
            # VGG-style torch nets at 64x64: with torch's default initialisation VGG11 at
            # width 0.5 stayed at chance for 12 epochs; with torchvision's VGG
            # initialisation (models/torch/common.py) it reached 52.6 % in 8 (123 s).
            # Width 0.25 keeps notebooks 04 and 05 within the quick budget. Yang's 3-class
            # task on masked faces is 57 % "negative". VGG19 (w 0.25) and Yang's MobileNet v1
            # (alpha 0.5) from scratch stayed at that prior for 12 epochs on the training set
            # itself, under `modern` (lr 1e-3 to 5e-3), Adam alone, balanced batches, unmasked
            # pre-training or 128 px input; Çelik's CNN on the same faces reached 75.0 %, so
            # the faces carry the signal and the plain deep stacks do not find it in ~560
            # steps. Quick leaves them out of notebooks 04 and 10. The two-stage models (4-conv
            # backbone) with Adam alone reached 59.4 / 65.3 % (approach 2 / 1) in 12 epochs,
            # still climbing; under `modern` in 6 epochs 60.7 / 57.5 %.
            "vgg11": TrainCfg(epochs=12, batch_size=32, lr=1e-3, width_mult=0.25),
            "abn": TrainCfg(epochs=12, batch_size=32, lr=1e-3, width_mult=0.25),
            "fecn": TrainCfg(epochs=12, batch_size=32, lr=1e-3, width_mult=0.25),
            "mcn": TrainCfg(epochs=4, batch_size=32, lr=1e-3, width_mult=0.25),
            "vgg19": TrainCfg(epochs=4, batch_size=32, lr=1e-3, width_mult=0.25),
            "yang_mobilenet": TrainCfg(epochs=6, batch_size=32, lr=2e-3, width_mult=0.5),
            "yang_stage1": TrainCfg(epochs=4, batch_size=32, lr=1e-3, width_mult=0.5),
            "yang_attention": TrainCfg(
                epochs=12, batch_size=32, lr=1e-3, width_mult=0.5, recipe="paper"
            ),
            "yang_inpaint": TrainCfg(
                epochs=12, batch_size=32, lr=1e-3, width_mult=0.5, recipe="paper"
            ),
            # Notebook 10: one shared budget for every model (see maskfer_lib.crosspaper).
            # At 6 epochs the four models reached 17-32 % on masked faces (chance 14 %).
            "benchmark": TrainCfg(epochs=10, batch_size=32, lr=1e-3),
        },
    ),
    # Real data on 2 cores: every notebook on FER2013 within one ~2-hour sitting (a
    # session here is 3 hours and keeps no files, no GPU), resumable model by model.
    # Epochs are set from throughput measured here at 48x48 (training images/s, batch 64:
    # Çelik CNN 111 at full width, Slim 1,429, Slim+RGC 1,191, MobileNetV2 416; torch at
    # 64x64, width 0.25: VGG11 366, ABN 377, FECN 313), not from the papers.
    "real": Profile(
        name="real",
        synth_per_class=300,
        image_size=48,
        seeds=(0, 1, 2),
        kfolds=0,
        timing_runs=100,
        timing_warmup=10,
        train_faces=5000,
        # Six models x two conditions x three seeds at 48x48 on 5,600 faces: ~25 min.
        bench=BenchCfg(BENCH_MODELS_REAL, input_size=48, train_faces=5600),
        # Putro's three on all 22.9k masked training faces (every other baseline meets them
        # in notebook 10); one sitting has no minutes for Yang's VGG19 and MobileNet v1.
        notebook=NotebookCfg(
            mask_whole_dataset=True,
            putro_models=("putro_slim", "putro_slim_rgc", "mobilenet_v2"),
            yang_baselines=(),
            yang_heatmap_faces=2000,
            # Each trains in 1-2.5 min here (06_training_budgets.md): three seeds each.
            seeded_models=("vgg11", "abn", "fecn", "yang_attention", "yang_inpaint"),
            ship_weights="package",
        ),  # fmt: skip
        default_train=TrainCfg(epochs=3, batch_size=64, lr=1e-3),
        train={
            # Notebooks 02 and 03 train on the whole masked training split (22.9k faces).
            # Çelik: at full width an epoch takes ~4.5 min (85 images/s); 6 epochs reached
            # 41.7 % validation under the paper's recipe and 45.2 % under `modern` (masked
            # FER2013, measured), so `modern` is the real profile's recipe (chosen by
            # validation; quick chose the paper's). Half width keeps the two recipes of
            # notebook 02 within ~20 minutes together.
            "celik_cnn": TrainCfg(epochs=5, batch_size=64, lr=1e-3, width_mult=0.5, dropout=0.0),
            # Putro's models at 64 px (as in quick). Masked FER2013, Slim + RGC: 6 epochs
            # gave 37.1 % validation with training at 37.9 % (underfitting); 30 epochs 48.9 %
            # masked test, in ~25 min each. 8 epochs (~6 min) are what one sitting allows.
            # MobileNetV2 at 48 px (416 images/s; 165 at 64 px).
            "putro_slim": TrainCfg(epochs=8, batch_size=64, lr=2e-3, input_size=64),
            "putro_slim_rgc": TrainCfg(epochs=8, batch_size=64, lr=2e-3, input_size=64),
            "mobilenet_v2": TrainCfg(epochs=6, batch_size=64, lr=2e-3, input_size=48),
            # Notebooks 04 and 05 train on `train_faces` faces in the split's proportions (their
            # 3 and 4 classes), with the quick profile's learning rates and widths.
            "vgg11": TrainCfg(epochs=8, batch_size=64, lr=3e-4, width_mult=0.25),
            "abn": TrainCfg(epochs=8, batch_size=64, lr=3e-4, width_mult=0.25),
            "fecn": TrainCfg(epochs=8, batch_size=64, lr=3e-4, width_mult=0.25),
            "mcn": TrainCfg(epochs=4, batch_size=64, lr=3e-4, width_mult=0.25),
            "vgg19": TrainCfg(epochs=5, batch_size=64, lr=3e-4, width_mult=0.25),
            "yang_mobilenet": TrainCfg(epochs=8, batch_size=64, lr=1e-3, width_mult=0.5),
            "yang_stage1": TrainCfg(epochs=4, batch_size=64, lr=1e-3, width_mult=0.5),
            "yang_attention": TrainCfg(epochs=6, batch_size=64, lr=1e-3, width_mult=0.5),
            "yang_inpaint": TrainCfg(epochs=6, batch_size=64, lr=1e-3, width_mult=0.5),
            # Notebook 10: the six single networks of three papers, 5,600 faces,
            # three seeds, both conditions (36 trainings, ~25 min).
            "benchmark": TrainCfg(epochs=4, batch_size=64, lr=1e-3),
        },
    ),
    "paper": Profile(
        name="paper",
        synth_per_class=1000,
        image_size=128,
        seeds=(0, 1, 2),
        kfolds=10,
        timing_runs=1000,
        timing_warmup=50,
        notebook=NotebookCfg(
            mask_whole_dataset=True,
            masking_faces_per_class=300,
            masking_real_faces=1000,
            putro_masks="template",
            putro_input=128,
            putro_pretrain_epochs=50,
            yang_input=224,
            yang_inpaint_input=128,
            yang_gan_epochs=40,
            yang_backbone="vgg19",
            yang_heat_stride=8,
            hayashi_input=224,
            time_everything=True,
        ),  # fmt: skip
        default_train=TrainCfg(epochs=100, batch_size=64, lr=1e-3, recipe="paper"),
        train={
            # Çelik & Gören: 250 epochs, Adam (paper Sec. 3); no batch size is given: 64.
            "celik_cnn": TrainCfg(epochs=250, batch_size=64, lr=1e-3, recipe="paper"),
            # Putro et al.: Adam lr 1e-4, eps 1e-7, batch 128, x0.75 after 20 flat epochs, 50
            # epochs on unmasked KDEF first; the fine-tuning length is not given: 300 is ours.
            "putro_slim": TrainCfg(epochs=300, batch_size=128, lr=1e-4, recipe="paper"),
            "putro_slim_rgc": TrainCfg(epochs=300, batch_size=128, lr=1e-4, recipe="paper"),
            "benchmark": TrainCfg(epochs=50, batch_size=64, lr=1e-3),
        },
    ),
}


def get_profile(name: str) -> Profile:
    """Look up a profile by name, with an error listing the valid names."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown profile {name!r}; choose one of {sorted(PROFILES)} "
            "(set PROFILE in the notebook's parameters cell or --profile on the command line)"
        ) from None


def seed_everything(seed: int) -> None:
    """Seed Python, numpy, and (when already imported) TensorFlow/Keras and torch."""
    import sys

    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed)
    elif "tensorflow" in sys.modules:
        sys.modules["tensorflow"].random.set_seed(seed)


@dataclass(frozen=True)
class Session:
    """What a notebook's setup cell establishes (:func:`setup`), one field per job."""

    profile: Profile
    """The profile the notebook runs with (``get_profile`` of its ``PROFILE``)."""
    dataset: str
    seed: int
    figures: Path
    """Where the notebook writes figures and tables (:func:`figures_dir`)."""
    runs: Path
    """Where trained runs of this profile and dataset live (:func:`runs_dir`)."""
    started: float
    """``time.perf_counter()`` when the session was set up."""

    def elapsed(self) -> float:
        """Seconds since the session was set up (a notebook's wall time so far)."""
        return time.perf_counter() - self.started


def setup(profile: str, dataset: str = "synthfacs", seed: int = 0) -> Session:
    """The start every notebook shares: look up the profile, seed, style, folders, clock.

    Call it after the notebook's imports: :func:`seed_everything` seeds TensorFlow/Keras and
    torch only when they are already imported. An unknown profile raises before anything
    is seeded or created.
    """
    started = time.perf_counter()
    chosen = get_profile(profile)
    seed_everything(seed)
    # Imported here, not at the top: config is imported by nearly every module and by the
    # command-line tools, which need no matplotlib (plots does not import config: no cycle).
    from maskfer_lib import plots

    plots.use_style()
    return Session(
        profile=chosen,
        dataset=dataset,
        seed=seed,
        figures=figures_dir(profile, dataset),
        runs=runs_dir(profile, dataset),
        started=started,
    )


def figures_dir(profile: str, dataset: str = "synthfacs") -> Path:
    """Where a notebook writes figures and tables.

    ``quick``/``paper`` runs on SynthFACS write to ``figures/``; real datasets to
    ``figures/<dataset>/``; smoke runs (tests) to ``data/_smoke/figures`` so the test suite
    never overwrites a reader's figures. ``MASKFER_FIGURES`` overrides all of this.
    """
    if os.environ.get("MASKFER_FIGURES"):
        out = Path(os.environ["MASKFER_FIGURES"])
    elif profile == "smoke":
        out = ROOT / "data" / "_smoke" / "figures"
    elif dataset == "synthfacs":
        out = ROOT / "figures"
    else:
        out = ROOT / "figures" / dataset
    out.mkdir(parents=True, exist_ok=True)
    return out


def runs_dir(profile: str, dataset: str = "synthfacs") -> Path:
    """Where trained models, histories and predictions of one profile and dataset live.

    Notebooks 02–05 write here; 06, 07 and 10 read from here. ``MASKFER_RUNS`` overrides.
    """
    base = (
        Path(os.environ["MASKFER_RUNS"])
        if os.environ.get("MASKFER_RUNS")
        else ROOT / "data" / "runs"
    )
    out = base / dataset / profile
    out.mkdir(parents=True, exist_ok=True)
    return out


def cache_dir() -> Path:
    """Where generated datasets and masked copies are cached (under gitignored data/)."""
    base = (
        Path(os.environ["MASKFER_CACHE"])
        if os.environ.get("MASKFER_CACHE")
        else ROOT / "data" / "cache"
    )
    base.mkdir(parents=True, exist_ok=True)
    return base
