"""tasks/ and detokenizers/ install as gpt2eval.tasks and gpt2eval.detokenizers, wheel too."""
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_editable_install_imports_the_mapped_packages():
    import gpt2eval.detokenizers.wikitext
    import gpt2eval.tasks.ptb

    assert Path(gpt2eval.tasks.ptb.__file__).resolve() == ROOT / "tasks" / "ptb.py"
    assert Path(gpt2eval.detokenizers.wikitext.__file__).resolve() == ROOT / "detokenizers" / "wikitext.py"
    names = {ep.name for ep in entry_points(group="gpt2eval.tasks")}
    assert {"wikitext2", "wikitext103", "ptb", "text", "lambada", "cbt-cn", "enwik8", "text8", "1bw"} <= names


def test_wheel_holds_and_imports_the_mapped_packages(tmp_path):
    # Build from a copy: setuptools leaves build/ behind, and a stale one could leak into wheels.
    source = tmp_path / "source"
    anywhere = shutil.ignore_patterns(".*", "*.egg-info", "__pycache__")

    def ignore(folder, names):  # the checkout's own build/, results/ and tests/, not gpt2eval/results/
        top = {"build", "results", "tests"} & set(names) if Path(folder) == ROOT else set()
        return set(anywhere(folder, names)) | top

    shutil.copytree(ROOT, source, ignore=ignore)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v", "-w", str(tmp_path), str(source)],
        capture_output=True, text=True,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    # `make install` shows what setuptools says: no package left undeclared (gpt2eval.data.files).
    assert "absent from the `packages` configuration" not in build.stdout + build.stderr
    [wheel] = tmp_path.glob("gpt2eval-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("gpt2eval/tasks/ptb.py", "gpt2eval/detokenizers/wikitext.py", "gpt2eval/data/resources/gpt2_table3.csv", "gpt2eval/data/resources/stopwords_en.txt"):
        assert expected in names
    assert not any(n.startswith(("tasks/", "detokenizers/")) for n in names), "no generic top-level packages"
    assert any(n.endswith("entry_points.txt") for n in names)

    target = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-2000:]
    probe = (
        "import gpt2eval.tasks.ptb as t, gpt2eval.detokenizers.wikitext as d, gpt2eval.report.paper as p;"
        "print(t.__file__); print(d.__file__); print(len(p.table3()))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(target)})
    assert out.returncode == 0, out.stderr[-2000:]
    task_file, detok_file, n_rows = out.stdout.split()
    assert task_file.startswith(str(target)) and detok_file.startswith(str(target))
    assert int(n_rows) == 50
