"""What a page must state about its data and its study, read from the dataset and the result files."""

from __future__ import annotations

import re

import pandas as pd

from .runs import is_network_result


def records_frame(dataset) -> pd.DataFrame:
    """One row per image: id, pathology, BI-RADS, score, patient, device (when the data give one)."""
    return pd.DataFrame(
        [
            {
                "id": r.id,
                "pathology": "malignant" if r.pathology else "benign",
                "birads": r.birads or "missing",
                "birads_score": r.birads_score,
                "patient": r.patient,
                "device": (r.meta or {}).get("Device") or (r.meta or {}).get("device"),
            }
            for r in dataset.records
        ],
        columns=["id", "pathology", "birads", "birads_score", "patient", "device"],
    )


def problems_frame(dataset) -> pd.DataFrame:
    """The problems found reading a dataset (`breastnet.data.problems`), one row each (empty when none)."""
    return pd.DataFrame([p.to_dict() for p in dataset.problems])


def data_statement(synthetic: bool, name: str) -> str:
    """One line saying what the numbers come from; SYNTHETIC in capitals when they are."""
    if synthetic:
        called = "" if name == "synthetic" else f" ({name})"
        return (
            f"SYNTHETIC ultrasound-like phantoms{called}, generated from a seed: "
            "not patient data, so no number here is evidence about breast ultrasound"
        )
    return f"the {name} breast ultrasound dataset (real, biopsy-proven images)"


def _learning_rate(config: dict):
    """The initial learning rate of a run's config: the profile's field, else read from the
    optimizer's description ("SGD(lr=0.001, ...)"); None when neither says."""
    rate = (config.get("profile") or {}).get("learning_rate")
    if rate is not None:
        return f"{float(rate):g}"
    match = re.search(r"lr=([0-9.eE+-]+)", str(config.get("optimizer") or ""))
    return f"{float(match.group(1)):g}" if match else None


def _early_stopping(config: dict):
    """A run's early stopping in words: 'val_ce, patience 2, min epochs 1', or 'none: the last of
    10 epochs is tested'; None when not recorded."""
    stop = config.get("early_stopping")
    if not stop:
        return None
    if stop.get("monitor") is None:  # the profile had none (`patience` None)
        return f"none: the last of {stop.get('epochs', '?')} epochs is tested"
    parts = [str(stop.get("monitor", "?"))]
    if stop.get("patience") is not None:
        parts.append(f"patience {stop['patience']}")
    if stop.get("min_epochs") is not None:
        parts.append(f"min epochs {stop['min_epochs']}")
    return ", ".join(parts)


def study_facts(results) -> dict:
    """What a results page must state, read from the result files themselves.

    Weights and training choices (BatchNorm statistics, crop, optimiser, learning rate, early stopping)
    are read from the networks' results; the descriptor floor has none (its weights are the
    study's only when no network ran), and files written before a choice was recorded say
    "not recorded".

    Returns a dict: profile, dataset, synthetic, weights, backend, hardware, versions,
    runs, train_minutes (summed over runs, which may have trained two at a time),
    cpu_threads, citation, statement, bn_stats, bn_momentum, crop, learning_rate, optimizer
    (the optimiser's description in the result files),
    early_stopping (monitor, patience, min epochs in words), monitor, min_epochs.
    """

    def joined(values, missing="unknown"):
        return ", ".join(sorted({str(v) for v in values if v is not None})) or missing

    net_results = [r for r in results if is_network_result(r)]
    nets = [r.get("config") or {} for r in net_results]
    stops = [c.get("early_stopping") or {} for c in nets]

    hardware, versions = set(), set()
    for r in results:
        hw = r.get("provenance", {}).get("hardware", {})
        cpu = f"{hw['cpu']}, " if hw.get("cpu") else ""  # files before 2026-12-02 do not name it
        hardware.add(f"{hw.get('accelerator', '?')} ({hw.get('cpus', '?')} CPU cores, {cpu}{hw.get('machine', '?')})")
        v = r.get("provenance", {}).get("versions", {})
        versions.add(", ".join(f"{k} {v[k]}" for k in ("keras", "tensorflow", "torch", "jax") if v.get(k)))
    synthetic = any(r.get("dataset", {}).get("synthetic") for r in results)
    dataset = joined(r["run"]["dataset"] for r in results)
    seconds = sum((r.get("training", {}).get("seconds", {}).get("total") or 0) for r in results)
    return {
        "profile": joined(r["run"]["profile"] for r in results),
        "dataset": dataset,
        "synthetic": synthetic,
        # The floor has no weights ("none (hand-crafted descriptors)"): the networks' are the study's.
        "weights": joined(r.get("weights") for r in (net_results or results)),
        "backend": joined(r.get("provenance", {}).get("backend") for r in results),
        "hardware": joined(hardware),
        "versions": joined(versions),
        "runs": len(results),
        "train_minutes": seconds / 60,
        # Files written before sweeps had workers ran on the backend's default threads.
        "cpu_threads": joined(r.get("config", {}).get("cpu_threads", "backend default") for r in results),
        "citation": joined(r.get("dataset", {}).get("citation") for r in results),
        "statement": data_statement(synthetic, dataset),
        "bn_stats": joined((c.get("bn_stats") for c in nets), "not recorded"),
        "bn_momentum": joined((c.get("bn_momentum") for c in nets), "not recorded"),
        "crop": joined((c.get("crop") for c in nets), "not recorded"),
        "learning_rate": joined((_learning_rate(c) for c in nets), "not recorded"),
        "optimizer": joined((c.get("optimizer") for c in nets), "not recorded"),
        "early_stopping": joined((_early_stopping(c) for c in nets), "not recorded"),
        "monitor": joined((s.get("monitor") for s in stops), "not recorded"),
        "min_epochs": joined((s.get("min_epochs") for s in stops), "not recorded"),
    }


def dataset_tables(records: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Summary tables of a `records_frame`: by pathology, BI-RADS x pathology, images per
    patient, and scanner x pathology when the data name scanners."""
    out = {}
    by = records.groupby("pathology")
    out["pathology"] = pd.DataFrame({"images": by.size(), "patients": by["patient"].nunique()})
    out["pathology"].loc["all"] = [len(records), records["patient"].nunique()]
    out["birads"] = pd.crosstab(records["birads"], records["pathology"], margins=True, margins_name="all")
    per_patient = records.groupby("patient").size().value_counts().sort_index()
    out["per_patient"] = per_patient.rename_axis("images per patient").rename("patients").to_frame()
    if records["device"].notna().any():
        out["device"] = pd.crosstab(
            records["device"].fillna("unknown"), records["pathology"], margins=True, margins_name="all"
        )
    return out
