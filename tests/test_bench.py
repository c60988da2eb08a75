"""`make bench` entry point: writes the timing table the issue asks for (speed is never asserted)."""

import pandas as pd

from maskfer_lib import bench


def test_bench_cli_writes_timing_csv(tmp_path, capsys):
    code = bench.main(
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
