"""The transfer question: does the ImageNet start the paper's title rests on ("transferable") help?

Asked only where a build's networks started from ImageNet (every network result records its
`weights`): the same rows (`profile.transfer_variants`: DSTL and E-DMTL) are then trained from
random initialisation on the same folds and held-out patients (a second study folder, since the
weights are part of its hash), and each ImageNet row is compared with its random-init twin by
the paired statistics of `breastnet.report.paired_claims`. Where the weights did not load (no
internet, or `weights: none`), the book says that the question was not tested, and why, from
the result files' own records.
"""

from __future__ import annotations

from .claims import Claim
from .paired_claims import prediction_frames
from .runs import is_network_result

IMAGENET = "imagenet"
RANDOM = "random init"


def weights_started(results) -> set[str]:
    """What the network runs of `results` started from, as their result files record it."""
    return {str(r.get("weights")) for r in results if is_network_result(r)}


def started_from_imagenet(results) -> bool:
    """Whether every network run of `results` started from ImageNet (and there is at least one)."""
    return weights_started(results) == {IMAGENET}


def transfer_statement(results) -> str:
    """Whether this build asks the transfer question, in words read from the result files."""
    used = weights_started(results)
    if used == {IMAGENET}:
        return (
            "The networks of this build started from ImageNet weights, as in the paper, so the transfer "
            "question is asked: the same rows trained from random initialisation on the same folds and "
            "held-out patients (Transfer chapter)."
        )
    what = ", ".join(sorted(used)) or "no network run"
    return (
        f"The transfer question (does the ImageNet start help?) was NOT tested in this build: its networks "
        f"started from {what}, not from ImageNet weights (they could not be loaded on the machine that ran "
        f"it, or the profile asked for none), so every number here is from networks trained from scratch."
    )


def transfer_claim(variants) -> Claim:
    """The comparisons of the transfer question: each row from ImageNet against itself from random init."""
    return Claim(
        "transfer",
        "Starting from ImageNet weights improves classification",
        "The paper's title and method: both DenseNet-121 streams are 'pre-trained on the ImageNet dataset' "
        "and fine-tuned (section 2.1); the paper reports no run from random initialisation.",
        tuple((f"{v} ({IMAGENET})", f"{v} ({RANDOM})") for v in variants),
        in_paper=False,
    )


def transfer_frames(imagenet_results, random_results, design, variants) -> dict:
    """Per-image prediction frames of `variants` from both starts: "<row> (imagenet)", "<row> (random init)"."""
    frames = {}
    for results, start in ((imagenet_results, IMAGENET), (random_results, RANDOM)):
        found = prediction_frames(results, design)
        frames.update({f"{v} ({start})": found[v] for v in variants if v in found})
    return frames


def transfer_analysis(imagenet, random, variants, synthetic: bool, n_resamples: int = 2000, level: float = 0.95):
    """The transfer question on the held-out patients and in CV.

    Args:
        imagenet, random: dicts {"cv": CV results, "heldout": held-out results} of the study from
            ImageNet and of its random-init twin.
        variants: the rows compared (`profile.transfer_variants`).
        synthetic: whether the data are synthetic phantoms.

    Returns:
        dict: claim, heldout (paired table on the held-out images, or None without held-out runs),
        cv (paired table on the CV folds' out-of-fold predictions), verdicts (of the held-out table,
        else of the CV one), design ("heldout" or "cv": which the verdicts rest on).
    """
    from .paired_claims import CV, HELDOUT, paired_table, question_verdicts

    claim = transfer_claim(variants)
    out = {"claim": claim, "heldout": None}
    if imagenet.get("heldout") and random.get("heldout"):
        frames = transfer_frames(imagenet["heldout"], random["heldout"], HELDOUT, variants)
        out["heldout"] = paired_table(frames, HELDOUT, questions=(claim,), n_resamples=n_resamples, level=level)
    frames = transfer_frames(imagenet["cv"], random["cv"], CV, variants)
    out["cv"] = paired_table(frames, CV, questions=(claim,), n_resamples=n_resamples, level=level)
    out["design"] = "heldout" if out["heldout"] is not None else "cv"
    out["verdicts"] = question_verdicts(out[out["design"]], synthetic, questions=(claim,))
    return out
