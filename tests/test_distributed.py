"""torchrun --nproc_per_node 2 (gloo, CPU) gives exactly the numbers of one process: a stream
task, LAMBADA (scoring and the greedy word search) and CBT, in one launch."""
import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from click.testing import CliRunner

from gpt2eval.cli import main

CBT = Path(__file__).parent / "fixtures" / "cbt" / "cbt"
TASKS = ("ptb", "lambada", "cbt-cn")


def test_torchrun_two_processes_equal_one(tiny_model_dir, data_dir, tmp_path):
    data = tmp_path / "data"  # real PTB and LAMBADA files beside the CBT fixtures, by links
    data.mkdir()
    for name, target in (("ptb", data_dir / "ptb"), ("lambada", data_dir / "lambada"), ("cbt", CBT)):
        (data / name).symlink_to(target)
    # Small units, so that both ranks get several and the LAMBADA search steps are shared too.
    args = ["run", *(x for t in TASKS for x in ("--task", t)), "--model", str(tiny_model_dir), "--data-dir", str(data),
            "--limit", "30", "--batch-size", "2", "--unit-tokens", "200", "--quiet", "--no-cache"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as torchrun sets each CPU process: the thread count moves last bits
    try:
        one = CliRunner().invoke(main, args + ["--output", str(tmp_path / "one")])
    finally:
        torch.set_num_threads(threads)
    assert one.exit_code == 0, one.output
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    two = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "gpt2eval", *args, "--output", str(tmp_path / "two")],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert two.returncode == 0, two.stderr[-3000:]
    assert two.stdout.count("->") == len(TASKS), f"rank 0 alone prints: {two.stdout}"
    for task in TASKS:
        a = json.loads((tmp_path / "one" / f"{task}.json").read_text())
        b = json.loads((tmp_path / "two" / f"{task}.json").read_text())
        assert b["run"]["world_size"] == 2 and a["run"]["world_size"] == 1
        assert b["run"]["units"] >= 2, f"{task}: too few units to share"
        assert a["metrics"] == b["metrics"], task
        assert a["totals"] == b["totals"] and a["per_document"] == b["per_document"], task
