"""Profiles, paths and seeding."""

import numpy as np
import pytest

from maskfer_lib import config


def test_three_profiles_grow_in_size():
    smoke, quick, paper = (config.get_profile(n) for n in ("smoke", "quick", "paper"))
    assert smoke.synth_per_class < quick.synth_per_class < paper.synth_per_class
    assert smoke.train_cfg("celik_cnn").epochs <= quick.train_cfg("celik_cnn").epochs
    assert smoke.timing_runs < quick.timing_runs < paper.timing_runs
    # The smoke profile caps steps so notebooks finish in seconds; the others never do.
    assert smoke.default_train.max_steps_per_epoch is not None
    assert all(p.train_cfg(m).max_steps_per_epoch is None for p in (quick, paper) for m in p.train)


def test_paper_profile_uses_the_papers_settings():
    paper = config.get_profile("paper")
    assert paper.train_cfg("celik_cnn").epochs == 250  # Çelik & Gören
    putro = paper.train_cfg("putro_slim_rgc")
    assert (putro.batch_size, putro.lr) == (128, 1e-4)  # Putro et al.
    assert paper.kfolds == 10
    assert all(cfg.width_mult == 1.0 for cfg in paper.train.values())


def test_unknown_profile_names_the_choices():
    with pytest.raises(ValueError, match="smoke"):
        config.get_profile("fast")


def test_seed_everything_is_reproducible():
    config.seed_everything(3)
    a = np.random.rand(4)
    config.seed_everything(3)
    assert np.array_equal(a, np.random.rand(4))


def test_smoke_figures_never_land_in_figures(monkeypatch):
    monkeypatch.delenv("MASKFER_FIGURES", raising=False)
    assert config.figures_dir("smoke") != config.ROOT / "figures"
    assert config.figures_dir("quick") == config.ROOT / "figures"
    assert config.figures_dir("quick", "fer2013") == config.ROOT / "figures" / "fer2013"


def test_env_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKFER_RUNS", str(tmp_path / "runs"))
    assert config.runs_dir("smoke").is_relative_to(tmp_path)


def test_the_library_reads_settings_not_profile_names():
    # config.Profile carries every setting: no module outside config.py decides by the
    # profile's name (which only labels outputs).
    import re

    from maskfer_lib.config import ROOT

    pattern = re.compile(r"\.name\s*(?:==|!=|in\b)|\{\s*\"(?:smoke|quick|real|paper)\"\s*:")
    hits = [
        f"{p.relative_to(ROOT)}:{i}"
        for p in sorted((ROOT / "maskfer_lib").rglob("*.py"))
        if p.name != "config.py"
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line) and ("prof" in line or "profile" in line)
    ]
    assert not hits, f"read a Profile field instead of the name: {hits}"
