"""Parameters and FLOPs of Putro's Keras models beside the numbers Putro et al. print (Table 2).

``param_table()`` builds every Putro model at 7 classes, counts parameters the Keras way
(``count_params``: BatchNorm moving statistics included, as Table 2 does) and FLOPs with
:func:`maskfer_lib.speed.flops.count_flops` (2 × MACs, TF profiler) at 48×48 and 128×128. Table 2
is reproduced at 48×48 (MobileNetV1/V2 and VGG16 match to the printed digits there), although
the paper's architecture section states 128×128 input. The printed numbers come from
``maskfer_lib.papers.putro`` (through the model registry's specs).
"""

from __future__ import annotations

from maskfer_lib.models import build_model, get_spec
from maskfer_lib.papers import putro
from maskfer_lib.speed.flops import count_flops

PUTRO_MODELS = (
    "putro_slim",
    "putro_slim_rgc",
    "mobilenet_v1",
    "mobilenet_v2",
    "mobilenet_v3",
    "shufflenet_v1",
    "shufflenet_v2",
    "vgg16",
    "resnet18",
    "ghostnet",
)
"""Putro's two networks and the eight baselines of Tables 1 and 2 (registry names)."""

_RGC_TOTAL = putro.TABLE2_PARAMS["putro_slim_rgc"]  # printed, Table 2
_RGC_ALONE = putro.RGC_PARAMS_DERIVED  # derived, not printed

NOTES = {
    "putro_slim": "widths chosen (paper omits them) to hit "
    f"{_RGC_TOTAL:,} − {_RGC_ALONE:,} = {_RGC_TOTAL - _RGC_ALONE:,}",
    "putro_slim_rgc": f"RGC on the 160-ch map: {_RGC_ALONE:,} params (docs/putro-derivations.md)",
    "mobilenet_v1": "keras.applications + GAP + Dense: matches Table 2 exactly",
    "mobilenet_v2": "keras.applications + GAP + Dense: matches Table 2 exactly",
    "mobilenet_v3": "V3-Large with its own head, the nearest keras.applications variant; "
    f"no variant gives {putro.TABLE2_PARAMS['mobilenet_v3'] / 1e6:.2f} M",
    "shufflenet_v1": "g=3, 1.0×; paper's implementation unknown (bias/BN details)",
    "shufflenet_v2": "2.0× (FLOPs nearest); Table 2 lies between 1.5× and 2.0×",
    "vgg16": "keras.applications + GAP + Dense: matches Table 2 exactly",
    "resnet18": "torchvision layout; Table 2 FLOPs ≈ 1/3 of a standard ResNet-18 at 48×48",
    "ghostnet": "GhostNet 1.0× with its 1280 conv head",
}
"""Per model, how ours was built and why its count may differ from Table 2's."""


def param_table(names=PUTRO_MODELS, sizes=(48, 128), num_classes: int = 7):
    """A DataFrame: params and GFLOPs (at each input size) of each model vs the paper.

    Columns: model, params, paper_params, params_diff_pct, gflops_<size> for each size,
    paper_gflops, gflops_diff_pct_<size> (vs the paper), note.
    """
    import pandas as pd

    rows = []
    for name in names:
        spec = get_spec(name)
        row = {"model": name}
        for i, s in enumerate(sizes):
            model = build_model(name, num_classes, input_shape=(s, s, 3))
            if i == 0:
                row["params"] = int(model.count_params())
                row["paper_params"] = spec.paper_params
            row[f"gflops_{s}"] = count_flops(model, (s, s, 3)) / 1e9
        row["paper_gflops"] = spec.paper_gflops
        p = spec.paper_params
        row["params_diff_pct"] = 100.0 * (row["params"] - p) / p if p else float("nan")
        for s in sizes:
            g = spec.paper_gflops
            row[f"gflops_diff_pct_{s}"] = (
                100.0 * (row[f"gflops_{s}"] - g) / g if g else float("nan")
            )
        row["note"] = NOTES.get(name, "")
        rows.append(row)
    cols = ["model", "params", "paper_params", "params_diff_pct"]
    cols += [f"gflops_{s}" for s in sizes] + ["paper_gflops"]
    cols += [f"gflops_diff_pct_{s}" for s in sizes] + ["note"]
    return pd.DataFrame(rows)[cols]


def putro_table1(trained: dict, costs):
    """Table 1's analogue: per trained run (``{name: runs.Run}`` scored on ``masked`` and
    ``unmasked``), accuracy beside its majority baseline and Putro's M-KDEF accuracy,
    parameters and GFLOPs beside the paper's (``costs`` is :func:`param_table`'s table)."""
    import pandas as pd

    cost = costs.set_index("model")
    rows = []
    for name, run in trained.items():
        spec = get_spec(name)
        masked = run.results["masked"]
        rows.append(
            {
                "model": name,
                "acc_masked": masked.accuracy,
                "majority_masked": masked.majority,
                "acc_unmasked": run.accuracy("unmasked"),
                "paper_acc_mkdef": putro.TABLE1_ACCURACY_MKDEF[name],
                "params_trained": run.params,
                "params_full": cost.loc[name, "params"] if name in cost.index else None,
                "paper_params": spec.paper_params,
                "gflops_48": cost.loc[name, "gflops_48"] if name in cost.index else None,
                "paper_gflops": spec.paper_gflops,
                "train_s": run.train_seconds,
            }
        )
    return pd.DataFrame(rows)
