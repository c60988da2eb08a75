"""`make bench` entry point: writes the timing table the issue asks for (speed is never asserted)."""

import pandas as pd
from tiny_models import tiny_torch

from maskfer_lib.speed import table2


def counting_builds(monkeypatch) -> list:
    """Record every (name, size) table2 builds from the registry."""
    built, real = [], table2._build

    def build(name, size, *args, **kwargs):
        built.append((name, size))
        return real(name, size, *args, **kwargs)

    monkeypatch.setattr(table2, "_build", build)
    return built


def test_bench_cli_writes_timing_csv(tmp_path, capsys, monkeypatch):
    built = counting_builds(monkeypatch)
    code = table2.main(
        [
            "--profile",
            "smoke",
            "--sizes",
            "48",
            "--models",
            "putro_slim_rgc",
            "mobilenet_v2",
            "--runs",
            "5",
            "--no-integrated",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0
    table = pd.read_csv(tmp_path / "timing.csv")
    assert {"putro_slim_rgc", "mobilenet_v2"} <= set(table.model)
    assert (table.fps > 0).all() and (table.median_ms <= table.p90_ms).all()
    assert set(table.backend) == {"native", "onnx"}
    assert (tmp_path / "timing.md").exists() and "timing.csv" in capsys.readouterr().out
    # Interleaved rounds: every model in every round of every setting, and ratios from them.
    rounds = pd.read_csv(tmp_path / "timing_rounds.csv")
    assert len(rounds) == 3 * 2 * 2  # smoke: 3 rounds x 2 models x 2 back ends at 48 px
    ratios = pd.read_csv(tmp_path / "timing_ratios.csv").set_index(["backend", "model"])
    mnv2 = ratios.loc[("onnx", "mobilenet_v2")]
    assert mnv2.speedup_min <= mnv2.speedup_median <= mnv2.speedup_max and mnv2.rounds == 3
    assert ratios.loc[("onnx", "putro_slim_rgc")].speedup_median == 1.0
    # Each model is built once: the interleaved rounds time the models benchmark_model timed.
    assert sorted(built) == [("mobilenet_v2", 48), ("putro_slim_rgc", 48)]


def test_ratio_rounds_times_the_models_it_is_given(monkeypatch):
    built = counting_builds(monkeypatch)
    models = {n: (tiny_torch(), (16, 16, 3), None) for n in ("putro_slim_rgc", "other")}
    rounds = table2.ratio_rounds(
        models, 16, threads=1, rounds=2, runs=3, warmup=1, keras_paths={}, backends=("native",)
    )
    assert built == []  # nothing rebuilt
    assert len(rounds) == 2 * 2 and set(rounds.name) == set(models)
    assert set(rounds.backend) == {"native"} and set(rounds["size"]) == {16}


def test_speed_findings_say_where_the_reference_is_not_faster():
    ratios = pd.DataFrame(
        [
            {"backend": "onnx", "size": 48, "model": m, "speedup_median": r, "speedup_min": lo,
             "speedup_max": hi, "rounds": 7, "faster_every_round": lo > 1, "faster_median": r > 1}
            for m, r, lo, hi in [("putro_slim_rgc", 1, 1, 1), ("mobilenet_v2", 2.3, 2.1, 2.5),
                                 ("putro_slim", 0.78, 0.7, 0.8), ("shufflenet_v1", 0.9, 0.8, 1.1)]
        ]
    )  # fmt: skip
    lines = table2.speed_findings(ratios)
    assert any("2.30x MobileNetV2" in s for s in lines)
    assert any("not faster than shufflenet_v1" in s for s in lines)
    assert any("0.78x Slim's FPS" in s for s in lines)
