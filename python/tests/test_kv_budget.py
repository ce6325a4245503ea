"""The default KV budget: sized from the device MLX computes on (kv_budget.py)."""

import pytest

from mlx_runtime.kv_budget import CPU_FRACTION, GPU_FRACTION, MIN_BUDGET_BYTES, current_kv_budget, size_kv_budget

GiB = 1 << 30
HOST = 31 * GiB  # a microVM's RAM as read at start (reports/reference/gpu)

# mlx 0.32 on an M-series Mac (mx.device_info() on the GPU)
METAL = {"architecture": "applegpu_g15s", "device_name": "Apple M3 Max", "max_buffer_size": 56 * GiB,
         "max_recommended_working_set_size": 96 * GiB, "memory_size": 128 * GiB, "resource_limit": 499000}
# mlx's CUDA backend (mlx/backend/cuda/device_info.cpp): total/free from NVML, else cudaMemGetInfo
H200_TOTAL = 143_771_009_024
CUDA = {"device_name": "NVIDIA H200", "architecture": "sm_90", "uuid": "GPU-0000", "pci_bus_id": "0000:00:05.0",
        "compute_capability_major": 9, "compute_capability_minor": 0,
        "free_memory": H200_TOTAL - (600 << 20), "total_memory": H200_TOTAL}
CPU = {"architecture": "x86_64", "device_name": "AMD EPYC"}


def test_metal_uses_the_recommended_working_set_less_weights():
    b = size_kv_budget(device="gpu", info=METAL, memory_limit=int(1.5 * 96 * GiB), physical_memory=128 * GiB,
                       model_bytes=2 * GiB)
    assert b.source == "gpu:max_recommended_working_set_size"
    assert b.bytes == int(GPU_FRACTION * (96 * GiB - 2 * GiB))
    assert b.memory_bytes == 96 * GiB and not b.capped_by_memory_limit


def test_metal_without_working_set_key_uses_memory_size():
    info = {k: v for k, v in METAL.items() if k != "max_recommended_working_set_size"}
    b = size_kv_budget(device="gpu", info=info, memory_limit=None, physical_memory=HOST, model_bytes=0)
    assert b.source == "gpu:memory_size" and b.bytes == int(GPU_FRACTION * 128 * GiB)


def test_cuda_uses_total_memory_capped_by_mlx_memory_limit():
    limit = int(H200_TOTAL * 0.8)  # the CUDA allocator's default memory limit
    b = size_kv_budget(device="gpu", info=CUDA, memory_limit=limit, physical_memory=HOST, model_bytes=2 * GiB)
    assert b.source == "gpu:total_memory" and b.capped_by_memory_limit
    assert b.bytes == int(GPU_FRACTION * (limit - 2 * GiB))
    assert b.bytes > 90 * GiB  # not a quarter of the host's 31 GiB
    uncapped = size_kv_budget(device="gpu", info=CUDA, memory_limit=None, physical_memory=HOST, model_bytes=2 * GiB)
    assert uncapped.bytes == int(GPU_FRACTION * (H200_TOTAL - 2 * GiB)) and not uncapped.capped_by_memory_limit


def test_gpu_values_are_read_defensively():
    # numeric strings are accepted; bools, zeros, negatives and junk are skipped
    b = size_kv_budget(device="gpu", info={"total_memory": str(80 * GiB)}, memory_limit=0, physical_memory=HOST)
    assert b.source == "gpu:total_memory" and b.bytes == int(GPU_FRACTION * 80 * GiB)
    junk = {"max_recommended_working_set_size": True, "total_memory": -1, "memory_size": "lots"}
    b = size_kv_budget(device="gpu", info=junk, memory_limit=40 * GiB, physical_memory=HOST)
    assert b.source == "gpu:memory_limit" and b.bytes == int(GPU_FRACTION * 40 * GiB)
    b = size_kv_budget(device="gpu", info=None, memory_limit=None, physical_memory=HOST, model_bytes=GiB)
    assert b.source == "gpu:physical_memory" and b.bytes == int(GPU_FRACTION * (HOST - GiB))


def test_weights_larger_than_memory_leave_the_floor():
    b = size_kv_budget(device="gpu", info={"total_memory": 8 * GiB}, memory_limit=None, physical_memory=HOST,
                       model_bytes=16 * GiB)
    assert b.bytes == MIN_BUDGET_BYTES


def test_cpu_keeps_a_quarter_of_physical_memory():
    b = size_kv_budget(device="cpu", info=CPU, memory_limit=20 * GiB, physical_memory=64 * GiB, model_bytes=GiB)
    assert b.source == "cpu:physical_memory" and b.bytes == int(CPU_FRACTION * 64 * GiB)
    assert b.fraction == CPU_FRACTION


@pytest.mark.parametrize("device", ["gpu", "cpu"])
def test_configured_wins(device):
    b = size_kv_budget(device=device, info=CUDA, memory_limit=None, physical_memory=HOST, model_bytes=GiB,
                       configured=12345678)
    assert b.bytes == 12345678 and b.source == "configured" and b.describe()["source"] == "configured"


def test_current_device_here():
    # this machine runs mlx on the CPU: a quarter of RAM, or the configured value
    b = current_kv_budget(0)
    assert b.source in ("cpu:physical_memory",) or b.source.startswith("gpu:")
    assert b.bytes >= MIN_BUDGET_BYTES
    assert current_kv_budget(0, configured=999).bytes == 999


def test_runtime_reports_its_budget(spawn):
    rt = spawn()
    h = rt.call("health")
    s = rt.call("stats")
    assert s["max_kv_bytes"] == h["max_kv_bytes"] == h["kv_budget"]["bytes"]
    assert s["kv_budget_source"] == h["kv_budget_source"] != "configured"
    assert h["kv_budget"]["model_bytes"] == s["model_bytes"] > 0
    rt2 = spawn("--max-kv-bytes", "5000000")
    s2 = rt2.call("stats")
    assert s2["max_kv_bytes"] == 5_000_000 and s2["kv_budget_source"] == "configured"
