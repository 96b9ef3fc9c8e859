"""Issue 16.9: tests write in temporary folders only.

Each test runs in its own empty folder (a default `results/<model>/` lands there, not in the
checkout), and a session that changed the checkout anyway fails: a user's own results,
say from the README's quick start, can never meet a test's.
"""
import shutil
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py")


def session(tmp_path: Path, test_body: str) -> subprocess.CompletedProcess:
    """pytest over a copy of our conftest and one test, in a fake checkout under tmp_path."""
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    shutil.copy(CONFTEST, repo / "tests" / "conftest.py")
    (repo / "README.md").write_text("a checkout\n")
    (repo / "tests" / "test_one.py").write_text("from pathlib import Path\n\n\ndef test_one():\n" + test_body)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(repo / "tests")],
                          cwd=repo, capture_output=True, text=True, timeout=300)


def test_a_session_that_writes_into_the_checkout_fails(tmp_path):
    done = session(tmp_path, "    (Path(__file__).parents[1] / 'results').mkdir()\n"
                             "    (Path(__file__).parents[1] / 'results' / 'ptb.json').write_text('{}')\n")
    assert done.returncode == 1, done.stdout
    assert "1 passed" in done.stdout and "the tests changed the checkout (1 files, e.g. results/ptb.json)" in done.stdout


def test_a_session_that_edits_a_tracked_file_fails(tmp_path):
    done = session(tmp_path, "    (Path(__file__).parents[1] / 'README.md').write_text('changed, and longer')\n")
    assert done.returncode == 1 and "README.md" in done.stdout, done.stdout


def test_default_outputs_land_in_the_tests_own_folder(tmp_path):
    done = session(tmp_path, "    Path('results').mkdir()\n    (Path('results') / 'ptb.json').write_text('{}')\n"
                             "    assert Path.cwd() != Path(__file__).parents[1]\n")
    assert done.returncode == 0, done.stdout
