import os
from pathlib import Path

import pytest

from gpt2eval.testing import save_tiny_gpt2

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):  # CI always has ../shared beside the clone: never pass by skipping
            pytest.fail(f"real test data not found at {SHARED_DATA}")
        pytest.skip(f"real test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random GPT-2 (context 128) with the real tokenizer, saved to disk."""
    return save_tiny_gpt2(tmp_path_factory.mktemp("tiny-gpt2") / "tiny-gpt2")
