"""Model FLOP utilisation: 2 x parameters FLOPs per processed token against the device's peak.

A forward pass costs ~2 FLOPs per parameter per token (one multiply-add per weight); the
attention scores add ~2 x layers x context x width more, left out as in the usual MFU
convention. Processed tokens are every input position run, padding and overlapping
window context included, so MFU measures the hardware, not the protocol.
"""
from __future__ import annotations

# Dense peak TFLOP/s by GPU name fragment and dtype (vendor datasheets, no sparsity; float32
# is the CUDA-core rate: torch does not use TF32 for float32 matmuls by default).
PEAK_TFLOPS = {
    "H200": {"bfloat16": 989.0, "float16": 989.0, "float32": 67.0},
    "H100": {"bfloat16": 989.0, "float16": 989.0, "float32": 67.0},
    "A100": {"bfloat16": 312.0, "float16": 312.0, "float32": 19.5},
    "L40S": {"bfloat16": 362.0, "float16": 362.0, "float32": 91.6},
    "A10": {"bfloat16": 125.0, "float16": 125.0, "float32": 31.2},
}


def peak_flops(device_name: str, dtype: str) -> float | None:
    """The device's dense peak FLOP/s for ``dtype``, or None for a device not in the table."""
    for fragment, peaks in PEAK_TFLOPS.items():
        if fragment in device_name and dtype in peaks:
            return peaks[dtype] * 1e12
    return None


def mfu(n_parameters: int, forward_tokens: int, seconds: float, peak: float | None) -> float | None:
    if not peak or seconds <= 0:
        return None
    return 2 * n_parameters * forward_tokens / seconds / peak
