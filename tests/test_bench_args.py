"""The benchmarks' own flags: a bad value is an error naming the flag, exit 2, before any work."""
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.parametrize("script, args, fragment", [
    ("cpu_allocator.py", ["--varied", "-1"], "--varied >= 0"),
    ("cpu_allocator.py", ["--rounds", "0"], "--rounds must be >= 1"),
    ("gpu_mfu.py", ["--estimate-fit", "0"], "--estimate-fit takes the device's memory in GiB, > 0"),
])
def test_bad_values_are_refused(script, args, fragment):
    done = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and fragment in errors[0], done.stderr
    assert "Traceback" not in done.stderr and not done.stdout
