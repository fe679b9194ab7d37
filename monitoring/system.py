"""Machine load for /api/status: psutil for CPU/memory/disk, NVML for NVIDIA GPUs."""
from __future__ import annotations

import logging

import psutil
from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)


def gpu_status() -> list[dict]:
    """One entry per NVIDIA GPU; [] when there is no driver or no GPU."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:
        return []
    gpus = []
    try:
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            name = pynvml.nvmlDeviceGetName(handle)
            gpus.append(
                {
                    "name": f"GPU{index}",
                    "model": name.decode() if isinstance(name, bytes) else name,
                    "load": float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu),
                    "memory_used": memory.used // (1024 * 1024),
                    "memory_total": memory.total // (1024 * 1024),
                    "temperature": pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU),
                }
            )
    except Exception:
        logger.exception("reading GPU status failed")
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass
    return gpus


def system_status() -> dict:
    memory = psutil.virtual_memory()
    return {
        "cpu_percent": psutil.cpu_percent(interval=None),
        "memory_percent": memory.percent,
        "memory_used": memory.used,
        "memory_total": memory.total,
        "disk_percent": psutil.disk_usage(str(settings.MEDIA_ROOT)).percent,
        "gpus": gpu_status(),
        "timestamp": timezone.localtime().replace(tzinfo=None).isoformat(timespec="seconds"),
    }
