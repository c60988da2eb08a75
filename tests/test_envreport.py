"""Environment report of notebook 00."""

from maskfer_lib import envreport


def test_machine_summary_names_the_cpu():
    summary = envreport.machine_summary()
    assert summary["cores"] >= 1
    assert summary["cpu"] and summary["cpu"] != "unknown CPU"


def test_package_versions_reports_missing_packages():
    table = envreport.package_versions(("numpy", "surely-not-installed-pkg"))
    versions = dict(zip(table.package, table.version, strict=True))
    assert versions["numpy"][0].isdigit()
    assert versions["surely-not-installed-pkg"] == "missing"


def test_datasets_present_finds_a_folder(tmp_path):
    (tmp_path / "fer2013" / "train" / "happy").mkdir(parents=True)
    (tmp_path / "fer2013" / "train" / "happy" / "a.jpg").write_bytes(b"x")
    table = envreport.datasets_present(tmp_path)
    row = table[table.dataset == "fer2013 (folder layout)"].iloc[0]
    assert row.present and str(tmp_path) in row["where"]
    assert table.iloc[0].dataset == "synthfacs" and table.iloc[0].present


def test_framework_threads_are_positive():
    threads = envreport.framework_threads()
    assert threads["torch_intra_op"] >= 1 and threads["tf_intra_op"] >= 0
