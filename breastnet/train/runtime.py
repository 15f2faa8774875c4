"""Seeds, determinism switches and provenance: what a result file records about where it ran."""

from __future__ import annotations

import os
import platform
import random
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata

import keras
import numpy as np

_DETERMINISM_ON = False


def enable_determinism() -> str:
    """Turn on the backend's op determinism; return what was done.

    TensorFlow: `tf.config.experimental.enable_op_determinism()` (deterministic
    kernels; on CPU it mainly pins the order of parallel reductions). JAX on CPU and
    PyTorch on CPU are deterministic for the ops used here given the seed; PyTorch
    additionally gets `torch.use_deterministic_algorithms(True)`.
    """
    global _DETERMINISM_ON
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf  # backend-specific settings live here, never in model, loss or metrics

        if not _DETERMINISM_ON:
            tf.config.experimental.enable_op_determinism()
        done = "tf.config.experimental.enable_op_determinism()"
    elif backend == "torch":
        import torch

        torch.use_deterministic_algorithms(True, warn_only=True)
        done = "torch.use_deterministic_algorithms(True)"
    else:
        done = "none needed (JAX is deterministic given the seed on CPU)"
    _DETERMINISM_ON = True
    return done


def limit_cpu_threads(threads: int) -> str:
    """Run the backend's CPU kernels on `threads` threads; return what was done.

    For sweep workers that share the cores: two one-thread processes keep both cores
    of this machine busy through each other's single-threaded phases (graph tracing,
    building the initial weights), where one two-thread process leaves a core idle.
    Call it before the backend runs its first op.

    Args:
        threads: threads for intra-op and inter-op parallelism.
    """
    threads = int(threads)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf  # backend switch, like enable_determinism

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        return f"tensorflow intra_op={threads} inter_op={threads}"
    if backend == "torch":
        import torch

        torch.set_num_threads(threads)
        return f"torch.set_num_threads({threads})"
    # XLA takes its CPU thread count from XLA_FLAGS when JAX starts; too late here.
    return "not applied (JAX: set XLA_FLAGS before starting)"


_BACKEND_SEEDED = False


def seed_everything(seed: int) -> None:
    """Python and NumPy seeds for every run; the backend's global seed once per process.

    Keras initializers take their seeds from Python's `random`, and nothing in the
    models draws from TensorFlow's global seed, so re-seeding Python and NumPy makes a
    run's initial weights. `tf.random.set_seed` is called only the first time
    (through `keras.utils.set_random_seed`) because every call invalidates the traced
    train step: measured, it cost each re-initialised run about 20 s of retracing for
    two DenseNet-121 streams.
    """
    global _BACKEND_SEEDED
    seed = int(seed)
    if not _BACKEND_SEEDED:
        keras.utils.set_random_seed(seed)
        _BACKEND_SEEDED = True
    random.seed(seed)
    np.random.seed(seed)
    if keras.backend.backend() == "torch":
        import torch

        torch.manual_seed(seed)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> str | None:
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def accelerator() -> str:
    """'cpu', or a short description of the GPU the backend sees."""
    backend = keras.backend.backend()
    try:
        if backend == "torch":
            import torch

            if torch.cuda.is_available():
                return torch.cuda.get_device_name(0)
        elif backend == "jax":
            import jax

            devices = [d for d in jax.devices() if d.platform != "cpu"]
            if devices:
                return devices[0].device_kind
        elif backend == "tensorflow":
            import tensorflow as tf

            if tf.config.list_physical_devices("GPU"):
                return "GPU (TensorFlow)"
    except Exception:  # provenance must never break a run
        pass
    return "cpu"


def cpu_description() -> str:
    """The CPU's model name and widest vector extension ("AMD EPYC 7B13; AVX2").

    Recorded because TensorFlow's oneDNN kernels differ by instruction set, and on short
    runs of DenseNet the different rounding alone moves a run's test AUC by several
    hundredths (benchmarks/LOG.md, 2026-12-02 early stopping against a fixed budget); "unknown" parts where
    the system does not say.
    """
    model, flags = platform.processor() or "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model in ("unknown", "x86_64", ""):
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    isa = next(
        (name for flag, name in (("amx_tile", "AMX"), ("avx512f", "AVX-512"), ("avx2", "AVX2")) if flag in flags),
        "unknown",
    )
    return f"{model}; {isa}"


def provenance() -> dict:
    """Backend, versions, hardware, code version and time of a run."""
    backend = keras.backend.backend()
    lib = {"tensorflow": "tensorflow", "torch": "torch", "jax": "jax"}.get(backend, backend)
    return {
        "backend": backend,
        "versions": {
            "python": platform.python_version(),
            "keras": keras.__version__,
            lib: _version(lib),
            "numpy": _version("numpy"),
            "scikit-learn": _version("scikit-learn"),
            "opencv": _version("opencv-python-headless") or _version("opencv-python"),
            "breastnet": _version("breastnet"),
        },
        "hardware": {
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "cpu": cpu_description(),
            "accelerator": accelerator(),
            "system": platform.platform(),
        },
        "git_commit": _git_commit(),
        "argv": sys.argv[:],
        "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
