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


def test_setup_seeds_styles_and_names_the_folders(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from maskfer_lib import plots

    monkeypatch.setenv("MASKFER_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("MASKFER_FIGURES", str(tmp_path / "figures"))
    with plt.rc_context({"font.size": 3}):  # the style is undone for the other tests
        session = config.setup("smoke", "synthfacs", 5)
        first = np.random.rand(4)
        assert plt.rcParams["font.size"] == plots.STYLE["font.size"]
    assert session.profile is config.get_profile("smoke")
    assert (session.dataset, session.seed) == ("synthfacs", 5)
    assert session.figures == config.figures_dir("smoke", "synthfacs")
    assert session.runs == config.runs_dir("smoke", "synthfacs")
    assert session.figures.is_dir() and session.runs.is_dir()
    assert 0 <= session.elapsed() < 60
    config.setup("smoke", "synthfacs", 5)
    assert np.array_equal(first, np.random.rand(4))  # the same seed draws the same numbers
    with pytest.raises(AttributeError):
        session.seed = 6  # frozen


def test_setup_rejects_an_unknown_profile_before_creating_anything(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKFER_RUNS", str(tmp_path / "runs"))
    with pytest.raises(ValueError, match="unknown profile 'fast'.*smoke"):
        config.setup("fast", "synthfacs", 0)
    assert not (tmp_path / "runs").exists()


def test_notebook_01_sample_sizes_are_the_ones_it_used_by_profile_name():
    # Moved from a {profile name: size} lookup in notebook 01 into NotebookCfg.
    sizes = {n: config.get_profile(n).notebook for n in ("smoke", "quick", "real", "paper")}
    assert {n: s.masking_faces_per_class for n, s in sizes.items()} == {
        "smoke": 3, "quick": 80, "real": 80, "paper": 300}  # fmt: skip
    assert {n: s.masking_real_faces for n, s in sizes.items()} == {
        "smoke": 24, "quick": 300, "real": 300, "paper": 1000}  # fmt: skip
