"""gpu_choice ("GPU0", "CPU") -> torch device names, and which devices exist here."""
import re

GPU_CHOICE = re.compile(r"^(?:GPU|cuda:?)(\d{1,2})$", re.IGNORECASE)


def parse_gpu_choice(value: str | None) -> str:
    text = (value or "GPU0").strip()
    if text.lower() == "cpu":
        return "cpu"
    match = GPU_CHOICE.match(text)
    if not match:
        raise ValueError(f"gpu_choice '{text}' 无效: 使用 GPU0, GPU1, ... 或 CPU")
    return f"cuda:{int(match.group(1))}"


def cuda_device_count() -> int:
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:
        return 0


def usable_device(requested: str) -> tuple[str, str]:
    """(device to run on, warning): a requested GPU that is not here falls back to the CPU."""
    if requested.startswith("cuda:"):
        index = int(requested.split(":", 1)[1])
        if index >= cuda_device_count():
            return "cpu", f"warning: {requested} is not available on this machine, running on CPU"
    return requested, ""
