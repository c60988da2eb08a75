"""The model registry (framework-free parts; the model files pin their own param counts)."""

import importlib

import pytest

from maskfer_lib import models

ISSUE_NAMES = {
    "celik_cnn",
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
    "vgg11",
    "abn",
    "mcn",
    "fecn",
    "vgg19",
    "yang_mobilenet",
    "yang_stage1",
    "yang_attention",
    "yang_inpaint",
}


def test_every_model_the_issues_name_is_registered():
    assert set(models.list_models()) == ISSUE_NAMES
    assert (
        set(models.list_models(framework="keras")) | set(models.list_models(framework="torch"))
        == ISSUE_NAMES
    )


def test_paper_numbers_come_from_putro_table_2():
    assert models.get_spec("putro_slim_rgc").paper_params == 756_447
    assert models.get_spec("vgg16").paper_params == 14_718_279
    assert models.get_spec("putro_slim").paper_gflops == 0.016


def test_printed_counts_are_read_from_papers_putro():
    from maskfer_lib.papers import putro

    for name in models.list_models():
        spec = models.get_spec(name)
        if name in putro.TABLE2_PARAMS:
            assert spec.paper_params == putro.TABLE2_PARAMS[name], name
            assert spec.paper_gflops == putro.TABLE2_GFLOPS[name], name
        elif name == "putro_slim":
            assert (spec.paper_params, spec.paper_gflops) == (376_000, 0.016)
        else:  # Çelik, Yang and Hayashi print no parameter count
            assert spec.paper_params is None and spec.paper_gflops is None, name


def test_every_builder_resolves():
    for name in models.list_models():
        module, func = models.get_spec(name).builder.split(":")
        assert callable(getattr(importlib.import_module(module), func)), name


def test_unknown_model_lists_known_ones():
    with pytest.raises(ValueError, match="celik_cnn"):
        models.build_model("alexnet")


def test_registry_import_is_framework_free():
    import subprocess
    import sys

    code = (
        "import sys, maskfer_lib.models; print('tensorflow' in sys.modules, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
