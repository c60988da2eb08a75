"""The papers' printed numbers (maskfer_lib.papers): one module per paper, framework-free,
keyed by the registry's model names. Çelik's module has its own file (test_papers_celik.py)."""

import subprocess
import sys

from maskfer_lib import labels, models
from maskfer_lib.papers import hayashi, putro, yang


def test_papers_import_no_framework():
    code = (
        "import sys; import maskfer_lib.papers.celik, maskfer_lib.papers.putro, "
        "maskfer_lib.papers.yang, maskfer_lib.papers.hayashi; "
        "print(*(m in sys.modules for m in ('tensorflow', 'torch', 'keras')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


def test_putro_tables_name_registered_putro_models():
    putro_models = set(models.list_models(paper="putro"))
    assert set(putro.TABLE1_ACCURACY_MKDEF) == putro_models
    assert set(putro.TABLE2_PARAMS) == set(putro.TABLE2_GFLOPS) == set(putro.TABLE2_FPS)
    assert set(putro.TABLE2_PARAMS) == putro_models - {"putro_slim"}  # Table 2 omits Slim
    # As printed: Slim + RGC is the lightest and the fastest classifier of Table 2.
    assert putro.TABLE2_PARAMS["putro_slim_rgc"] == 756_447
    assert max(putro.TABLE2_FPS, key=lambda m: putro.TABLE2_FPS[m][0]) == "putro_slim_rgc"
    assert putro.TABLE1_PARAMS_SLIM == 376_000 and putro.TABLE1_GFLOPS_SLIM == 0.016


def test_hayashi_table3_is_keyed_by_registry_names_and_classes():
    assert set(hayashi.TABLE3.index) <= set(models.list_models(paper="hayashi"))
    assert list(hayashi.TABLE3.columns) == [*labels.CLASSES_4, "total"]
    assert hayashi.TABLE3.total.idxmax() == "fecn"
    assert hayashi.TABLE3.loc["fecn", "total"] == 86.7


def test_yang_prints_approach_2_above_approach_1():
    assert (yang.APPROACH1_ACCURACY, yang.APPROACH2_ACCURACY) == (0.87, 0.90)
