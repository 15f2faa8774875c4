"""breastnet.study.request: one record of what to train, which the command line parses back unchanged."""

import argparse

import pytest

from breastnet import defaults
from breastnet.cli.options import add_common, request_from_args
from breastnet.study.request import TrainRequest


def parse(argv):
    """`python -m breastnet train|sweep ...` parsed as the command line parses it, back into a request."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("train", "sweep"):
        command = sub.add_parser(name)
        add_common(command)
    sub.choices["train"].add_argument("--variant")
    sub.choices["train"].add_argument("--alpha", type=float)
    sub.choices["sweep"].add_argument("--variants")
    sub.choices["sweep"].add_argument("--no-spectra", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "train":
        return request_from_args(args, [args.variant], args.alpha, spectra=False)
    variants = args.variants.split(",") if args.variants else None
    return request_from_args(args, variants, spectra=not args.no_spectra)


@pytest.mark.parametrize(
    "request_",
    [
        TrainRequest(),
        TrainRequest(profile="smoke", data="/data/BUS BRA", out="/tmp/r", variants=("DSTL", "E-DMTL")),
        TrainRequest(variants=("DSTL",), spectra=False, weights="none", workers=1, engine="ray", quiet=True),
        TrainRequest(profile="test", variants=("E-DMTL",), alpha=1.0),
    ],
)
def test_the_command_line_parses_a_request_back(request_):
    assert parse(request_.argv()) == request_


def test_defaults_are_the_command_lines():
    request = parse(["sweep"])
    assert (request.profile, request.workers, request.engine, request.out) == (
        defaults.PROFILE, defaults.WORKERS, defaults.ENGINE, defaults.RESULTS
    )  # fmt: skip
    assert TrainRequest().argv() == ["sweep", "--profile", "cpu", "--out", "results"]


def test_an_alpha_needs_one_variant():
    with pytest.raises(ValueError, match="exactly one variant"):
        TrainRequest(variants=("DSTL", "DSSL"), alpha=0.5)
    assert TrainRequest(variants=("DSSL",), alpha=0.5).command == "train"


def test_weights_option_reads_the_sentinel_once():
    assert defaults.weights_option(None) == "profile"
    assert defaults.weights_option("None") is None and defaults.weights_option("none") is None
    assert defaults.weights_option("imagenet") == "imagenet"
