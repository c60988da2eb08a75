"""The results-vs-papers page: each verdict follows from the saved results, by code."""

import numpy as np
import pandas as pd
import pytest

from maskfer_lib import claims, evaluate

CLASSES = ("a", "b", "c")


def _save_run(run_dir, name, accuracy, n=600, epochs=5):
    """A run whose masked test predictions are right on ``accuracy`` of ``n`` faces."""
    y = np.arange(n) % 3
    right = np.arange(n) < round(accuracy * n)
    pred = np.where(right, y, (y + 1) % 3)
    evaluate.save_predictions(run_dir, name, y, np.eye(3)[pred], CLASSES, split="test_masked")
    evaluate.save_run_summary(run_dir, name, model_name=name, framework="keras", epochs=epochs)


def _evidence(tmp_path, dataset="fer2013", bench=None, **accs):
    for name, acc in accs.items():
        _save_run(tmp_path, name, acc)
    return claims.Evidence(
        dataset, "real", tmp_path, bench=bench if bench is not None else pd.DataFrame()
    )


def _claim(text):
    return next(c for c in claims.CLAIMS if text in c.claim)


def test_an_order_holds_only_when_the_intervals_are_apart(tmp_path):
    check = _claim("FECN > VGG11 > ABN").check
    assert check(_evidence(tmp_path / "1", fecn=0.9, vgg11=0.7, abn=0.5)).verdict == claims.HOLDS
    fails = check(_evidence(tmp_path / "2", fecn=0.5, vgg11=0.7, abn=0.4))
    assert fails.verdict == claims.FAILS and "FECN 50.0" in fails.ours
    assert (
        check(_evidence(tmp_path / "3", fecn=0.71, vgg11=0.70, abn=0.5)).verdict == claims.NOT_SHOWN
    )
    missing = check(_evidence(tmp_path / "4", fecn=0.9))
    assert missing.verdict == claims.UNTESTABLE and "vgg11" in missing.why


def test_an_order_reads_the_seeded_runs_where_a_model_has_several(tmp_path):
    """FECN's own run alone says FECN > VGG11 > ABN; with its two seeded reruns the mean
    over three seeds ties with VGG11, so the claim must read all three."""
    ev = _evidence(tmp_path, fecn=0.80, vgg11=0.70, abn=0.5)
    for seed, acc in ((1, 0.62), (2, 0.61)):
        _save_run(tmp_path / "seeds", f"fecn_seed{seed}", acc)
    _save_run(tmp_path / "seeds", "fecn_seedling", 0.1)  # not a seed of fecn: ignored
    finding = _claim("FECN > VGG11 > ABN").check(ev)
    assert finding.verdict == claims.NOT_SHOWN
    assert "FECN 67.7 ± 10.7 [" in finding.ours and "(3 seeds)" in finding.ours
    assert "VGG11 70.0 [" in finding.ours  # one run: its own interval, no seed count
    assert [round(r.accuracy, 2) for r in ev.seed_runs("fecn")] == [0.62, 0.61]


def test_slim_rgc_against_the_baselines_reads_notebook_03s_runs(tmp_path):
    check = _claim("beats the mobile baselines").check
    holds = check(_evidence(tmp_path / "1", putro_slim_rgc=0.5, mobilenet_v2=0.35))
    assert holds.verdict == claims.HOLDS and "(notebook 03)" in holds.budget
    assert "mobilenet_v2 35.0 [" in holds.ours
    fails = check(_evidence(tmp_path / "2", putro_slim_rgc=0.3, mobilenet_v2=0.45))
    assert fails.verdict == claims.FAILS
    no_rival = check(_evidence(tmp_path / "3", putro_slim_rgc=0.5))  # nor a benchmark
    assert no_rival.verdict == claims.UNTESTABLE and "notebook 10" in no_rival.why


def test_absolute_numbers_are_judged_on_fer2013_only(tmp_path):
    check = _claim("70.8").check
    assert check(_evidence(tmp_path / "1", celik_cnn=0.75)).verdict == claims.HOLDS
    low = check(_evidence(tmp_path / "2", celik_cnn=0.5))
    assert low.verdict == claims.FAILS and low.budget == "5 of the paper's 250 epochs"
    synth = check(_evidence(tmp_path / "3", dataset="synthfacs", celik_cnn=0.75))
    assert synth.verdict == claims.UNTESTABLE and "synthfacs" in synth.why


def _bench(recovered):
    rows = []
    for model, gain in recovered.items():
        for train, test, acc in (
            ("unmasked", "unmasked", 0.8), ("unmasked", "masked", 0.4),
            ("masked", "masked", 0.4 + gain), ("masked", "unmasked", 0.6),
        ):  # fmt: skip
            rows.append({"model": model, "train": train, "test": test, "seed": 0,
                         "accuracy": acc, "accuracy_lo": acc - 0.02, "accuracy_hi": acc + 0.02})  # fmt: skip
    return pd.DataFrame(rows)


def test_the_mask_protocol_claims_read_the_benchmark(tmp_path):
    check = _claim("M→M > U→M").check
    assert check(_evidence(tmp_path, bench=_bench({"x": 0.2, "y": 0.1}))).verdict == claims.HOLDS
    some = check(_evidence(tmp_path, bench=_bench({"x": 0.2, "y": 0.01})))
    assert some.verdict == claims.NOT_SHOWN and "1 of 2" in some.why
    assert check(_evidence(tmp_path, bench=_bench({"x": -0.2}))).verdict == claims.FAILS
    assert check(_evidence(tmp_path)).verdict == claims.UNTESTABLE


def test_the_off_the_shelf_claim_counts_the_peers(tmp_path):
    peer = [
        {"model": "peer:p", "train": "unmasked", "test": test, "seed": 0, "accuracy": acc,
         "accuracy_lo": acc - 0.02, "accuracy_hi": acc + 0.02}
        for test, acc in (("unmasked", 0.7), ("masked", 0.3))
    ]  # fmt: skip
    bench = pd.concat([_bench({"x": 0.2}), pd.DataFrame(peer)], ignore_index=True)
    finding = _claim("U→U > U→M").check(_evidence(tmp_path, bench=bench))
    assert finding.verdict == claims.HOLDS
    assert "peer:p +40.0 (>)" in finding.ours and "x +40.0 (>)" in finding.ours


def test_old_benchmark_tables_do_not_count(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKFER_FIGURES", str(tmp_path / "fig"))
    monkeypatch.setenv("MASKFER_RUNS", str(tmp_path / "runs"))
    (tmp_path / "fig").mkdir()
    pd.DataFrame({"model": ["x"], "condition": ["masked"], "accuracy": [0.5]}).to_csv(
        tmp_path / "fig" / "10_benchmark_runs.csv", index=False
    )
    assert claims.Evidence.gather("quick", "synthfacs").bench.empty


def test_summary_has_one_row_per_claim(tmp_path):
    table = claims.summary_table(_evidence(tmp_path, putro_slim_rgc=0.8, putro_slim=0.6))
    assert len(table) == len(claims.CLAIMS)
    assert set(table.verdict) <= {claims.HOLDS, claims.FAILS, claims.NOT_SHOWN, claims.UNTESTABLE}
    row = table[table.claim.str.contains("RGC improves")].iloc[0]
    assert row.verdict == claims.HOLDS and row["paper's number"] == "+2.09"


def test_the_papers_numbers_are_as_printed():
    # Read from maskfer_lib.papers; pinned here as the summary page shows them.
    shown = {c.claim: c.paper_value for c in claims.CLAIMS}
    assert shown[_claim("70.8 % validation").claim] == "70.8 %"
    assert shown[_claim("~756K parameters and 0.019 GFLOPs").claim] == "756,447; 0.019"
    assert shown[_claim("Table 1: +2.09 points").claim] == "+2.09"
    assert shown[_claim("beats the mobile baselines").claim] == "96.99 % vs ≤ 95.48 %"
    assert shown[_claim("faster than every Table 2").claim] == "203.7 FPS"
    assert shown[_claim("Approach 2").claim] == "~90 % vs 87 %"
    assert shown[_claim("FECN > VGG11 > ABN").claim] == "86.7 > 84.4 > 84.2"


@pytest.mark.parametrize("paper", ["celik", "putro", "yang", "hayashi", "all"])
def test_every_paper_has_a_claim(paper):
    assert any(c.paper == paper for c in claims.CLAIMS)
