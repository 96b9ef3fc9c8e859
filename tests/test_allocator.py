"""The CPU allocator setting (gpt2eval/engine/allocator.py): freed large buffers are reused
from the heap instead of faulting in fresh pages, a user's own malloc settings are left
alone, and the result records which ran."""
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import assert_usage_error, run

ROOT = Path(__file__).resolve().parents[1]
glibc = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")

# Page faults per malloc + touch + free of a 64 MiB buffer, after a first round: in a fresh
# interpreter (the setting is per process), without torch.
FAULTS = """
import ctypes, resource, sys
if sys.argv[1] == "keep":
    from gpt2eval.engine.allocator import keep_large_buffers
    print(keep_large_buffers())
else:
    print("untouched")
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
n = 64 << 20
def once():
    p = libc.malloc(n)
    ctypes.memset(p, 1, n)
    libc.free(p)
once()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(4):
    once()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) // 4)
"""


def faults(mode: str, **env) -> tuple[str, int]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("MALLOC_", "GLIBC_TUNABLES", "LD_PRELOAD", "GPT2EVAL_CPU_ALLOCATOR"))}
    out = subprocess.run([sys.executable, "-c", FAULTS, mode], cwd=ROOT, env={**clean, **env},
                         capture_output=True, text=True, check=True).stdout.split("\n")
    return out[0], int(out[1])


@glibc
@pytest.mark.parametrize("env", [{}, {"GLIBC_TUNABLES": "glibc.elision.enable=0"}])  # tunables of other parts: not the user's malloc
def test_a_freed_large_buffer_is_reused_without_new_page_faults(env):
    pages = (64 << 20) // os.sysconf("SC_PAGE_SIZE")
    assert faults("default", **env)[1] >= pages // 2  # glibc alone: mmap, fault every page, munmap
    state, n = faults("keep", **env)
    assert state == "glibc, mmap and trim thresholds 1024 MiB"
    assert n < 64


@glibc
@pytest.mark.parametrize("env", [{"MALLOC_MMAP_THRESHOLD_": "131072"}, {"MALLOC_ARENA_MAX": "2"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=131072"}, {"GPT2EVAL_CPU_ALLOCATOR": "system"}])
def test_a_users_own_malloc_settings_are_left_alone(env):
    state, n = faults("keep", **env)
    assert state.endswith(("(left as set)", "(GPT2EVAL_CPU_ALLOCATOR=system)")) and next(iter(env)) in state
    assert n >= (64 << 20) // os.sysconf("SC_PAGE_SIZE") // 2


def test_the_result_records_the_allocator(tiny_model_dir, data_dir, tmp_path):
    from gpt2eval.engine.allocator import keep_large_buffers

    result = run("run", "--task", "ptb", "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 2,
                 "--output", tmp_path / "ptb.json", "--quiet")
    assert result.exit_code == 0, result.output
    engine = json.loads((tmp_path / "ptb.json").read_text())["config"]["engine"]
    assert engine["cpu_allocator"] == keep_large_buffers()


@pytest.mark.parametrize("command", [("run", "--task", "ptb"), ("sensitivity", "--task", "ptb", "--output", "sens")])
def test_an_unknown_setting_is_refused_before_the_model_loads(command, tiny_model_dir, data_dir, monkeypatch):
    import gpt2eval.models.loading

    monkeypatch.setattr(gpt2eval.models.loading, "load_model", lambda cfg: pytest.fail("the model loaded"))
    monkeypatch.setenv("GPT2EVAL_CPU_ALLOCATOR", "jemalloc")
    result = run(*command, "--model", tiny_model_dir, "--data-dir", data_dir, "--limit", 1)
    assert_usage_error(result, "GPT2EVAL_CPU_ALLOCATOR='jemalloc': use 'system'")
