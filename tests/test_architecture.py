"""The layering as a checked rule: the import contract in `.importlinter`, no import cycles,
and a report layer that never loads torch.

``tasks/`` and ``detokenizers/`` install as ``gpt2eval.tasks`` and ``gpt2eval.detokenizers``
(pyproject's package-dir), so the graph is built over a copy laid out as the wheel lays it.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed_layout(tmp_path_factory) -> Path:
    """gpt2eval/ with tasks/ and detokenizers/ inside it, as in the wheel."""
    root = tmp_path_factory.mktemp("layout")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "gpt2eval", root / "gpt2eval", ignore=ignore)
    for name in ("tasks", "detokenizers"):
        shutil.copytree(ROOT / name, root / "gpt2eval" / name, ignore=ignore)
    shutil.copy(ROOT / ".importlinter", root / ".importlinter")
    return root


def in_layout(root: Path, code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300)


def test_import_contract_holds(installed_layout):
    """Layers run one way (commands > analysis > pipeline | report > tasks > results > engine
    > models > data > detokenizers > base), and report/results import neither torch nor transformers."""
    done = in_layout(installed_layout, "import sys; from importlinter.cli import lint_imports; "
                                       "sys.exit(lint_imports(config_filename='.importlinter', no_cache=True, no_logo=True))")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_no_import_cycles(installed_layout):
    """No two modules import each other, directly or through others (lazy imports included)."""
    code = """
import grimp
g = grimp.build_graph("gpt2eval", cache_dir=None)
edges = {m: g.find_modules_directly_imported_by(m) for m in g.modules}
seen, stack, on, cycles = {}, [], set(), []
def visit(v):
    seen[v] = True; stack.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w in on: cycles.append(stack[stack.index(w):] + [w])
        elif w not in seen: visit(w)
    stack.pop(); on.discard(v)
for m in sorted(edges):
    if m not in seen: visit(m)
print("\\n".join(" -> ".join(c) for c in cycles))
"""
    done = in_layout(installed_layout, code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", "import cycles:\n" + done.stdout


def test_a_table_is_built_without_loading_torch():
    """At run time too: `gpt2eval table` over real results never imports torch."""
    code = ("import sys; from gpt2eval.report.table import build_table; "
            f"build_table([{str(ROOT / 'results' / 'ci')!r}], 'markdown'); "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
