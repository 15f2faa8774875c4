"""Command line: `python -m breastnet data busbra [--to DIR] [--archive ZIP] [--base-url URL]`.

Downloads BUS-BRA from Zenodo (hash-checked, cached), unpacks and checks it
(`breastnet.data.download.fetch_busbra`), then says where it is, what it holds and how it
must be cited.
"""

from __future__ import annotations

import sys

#: The subcommand this module adds.
COMMAND = "data"
DATASETS = ("busbra",)


def add_parser(subparsers):
    """Add `data` to the `argparse` subparsers of `python -m breastnet`."""
    from ..data.download import URL_ENV, ZIP_ENV

    data = subparsers.add_parser(
        COMMAND, help="download a public dataset (BUS-BRA from Zenodo), check it and unpack it"
    )
    data.add_argument("name", choices=DATASETS, help="the dataset: busbra (BUS-BRA, doi:10.5281/zenodo.8231412)")
    data.add_argument(
        "--to",
        default=None,
        metavar="DIR",
        help="the dataset folder to create (default: BUS-BRA in the cache, breastnet.defaults.cache_dir)",
    )
    data.add_argument(
        "--archive",
        default=None,
        metavar="ZIP",
        help=f"a local BUSBRA.zip instead of the download (default ${ZIP_ENV})",
    )
    data.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help=f"a mirror serving BUSBRA.zip under URL/ (default ${URL_ENV}, else Zenodo)",
    )
    return data


def run(args) -> int:
    """Fetch the dataset named by `args`; 0 when it is ready, 1 (message on stderr) when not."""
    from ..data.download import BUSBRA_DOI, BUSBRA_LICENSE, default_busbra_dir, fetch_busbra
    from ..data.load import load_dataset
    from ..data.records import BUSBRA_CITATION

    try:
        folder = fetch_busbra(args.to, base_url=args.base_url, archive=args.archive, progress=sys.stderr.isatty())
        summary = load_dataset(folder).summary()
    except (ValueError, OSError) as err:  # DownloadError, DataError, a full disk
        print(f"BUS-BRA is not ready: {err}", file=sys.stderr)
        return 1
    print(f"BUS-BRA in {folder}")
    print(
        f"{summary['images']} images of {summary['patients']} patients: "
        f"{summary['benign']} benign, {summary['malignant']} malignant"
    )
    named = " (or --data busbra, or BREASTNET_DATA=busbra)" if folder == default_busbra_dir() else ""
    print(f"Use it with --data {folder}{named}.")
    print(f"\nCite the dataset: {BUSBRA_CITATION}; data doi:{BUSBRA_DOI}.")
    print(f"Licence: {BUSBRA_LICENSE}")
    return 0
