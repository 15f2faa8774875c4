"""BUS-BRA from Zenodo: download (pooch, hash-checked, cached), unpack, check, rename into place.

`fetch_busbra()` is `python -m breastnet data busbra` and the `"busbra"` value of a data path
(`breastnet.data.records.resolve_data_path`). The archive is downloaded once into
`default_cache_dir() / "downloads"` by `pooch.retrieve`, which checks its SHA-256, keeps it
for the next time and deletes a download whose hash differs. It is unpacked into a temporary
folder beside the destination, its layout and every image and mask are checked
(`breastnet.data.checks.check_dataset`), and only then is it renamed to the destination: an
error at any step leaves nothing there.

Stand-ins for Zenodo: a mirror (`base_url` or $BREASTNET_BUSBRA_URL: a base URL that the file
name is appended to) or a local copy of the zip (`archive` or $BREASTNET_BUSBRA_ZIP), which
is hash-checked the same way.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from .checks import check_dataset
from .load import load_dataset
from .problems import DataError, fatal_problems
from .records import default_cache_dir

#: Zenodo record of BUS-BRA and its one file.
BUSBRA_DOI = "10.5281/zenodo.8231412"
BUSBRA_RECORD = "https://zenodo.org/records/8231412"
BUSBRA_ZIP = "BUSBRA.zip"
BUSBRA_URL = f"{BUSBRA_RECORD}/files/{BUSBRA_ZIP}?download=1"
BUSBRA_SIZE = 133_917_740  # bytes
BUSBRA_SHA256 = "ba3e6ed19cc37c682d8d39e25435bbf8a555a12cb7e641b5f2117685c95580ff"
BUSBRA_LICENSE = (
    f"CC BY 4.0 on its Zenodo record (https://doi.org/{BUSBRA_DOI}); the archive's LICENSE.txt "
    "allows use, copying and distribution, and requires every document or paper that uses the "
    "dataset to cite Gomez-Flores et al. (Medical Physics 2024)."
)

#: A mirror's base URL (BUSBRA.zip is appended), and a local copy of the zip.
URL_ENV = "BREASTNET_BUSBRA_URL"
ZIP_ENV = "BREASTNET_BUSBRA_ZIP"

#: What the archive holds, in a top-level BUSBRA/ folder or at its root (folders end in "/").
BUSBRA_LAYOUT = ("bus_data.csv", "5-fold-cv.csv", "10-fold-cv.csv", "Images/", "Masks/")


class DownloadError(ValueError):
    """BUS-BRA could not be downloaded, checked or unpacked; the message says what and where."""


def default_busbra_dir() -> Path:
    """Where `fetch_busbra` puts the dataset unless told: `default_cache_dir() / "BUS-BRA"`."""
    return default_cache_dir() / "BUS-BRA"


def download_dir() -> Path:
    """Where the downloaded archive is kept: `default_cache_dir() / "downloads"`."""
    return default_cache_dir() / "downloads"


def busbra_url(base_url: str | None = None) -> str:
    """The archive's URL: `base_url` or $BREASTNET_BUSBRA_URL with the file name appended, else Zenodo's."""
    base = base_url or os.environ.get(URL_ENV) or None
    return f"{base.rstrip('/')}/{BUSBRA_ZIP}" if base else BUSBRA_URL


def fetch_busbra(to=None, *, base_url: str | None = None, archive=None, progress: bool = False) -> Path:
    """BUS-BRA, downloaded, checked and unpacked into `to`; nothing is downloaded when it is there.

    Args:
        to: the dataset folder to create (it will hold bus_data.csv); default `default_busbra_dir()`.
        base_url: a mirror holding BUSBRA.zip; default $BREASTNET_BUSBRA_URL, else Zenodo.
        archive: a local BUSBRA.zip to unpack instead of downloading; default $BREASTNET_BUSBRA_ZIP.
        progress: progress bars on stderr (pooch's needs tqdm; none without it).

    Returns:
        The dataset folder, ready for `breastnet.data.load.load_dataset`.

    Raises:
        DownloadError: the download failed, the archive's SHA-256 or layout is not BUS-BRA's,
            or `to` exists and holds something else.
        DataError: an unpacked image or mask is missing or unreadable (fatal check problems).
    """
    dest = Path(to).expanduser() if to else default_busbra_dir()
    if is_busbra_dir(dest):
        return dest
    if dest.exists() and not (dest.is_dir() and not any(dest.iterdir())):
        missing = ", ".join(_missing(dest)) or "readable records"
        raise DownloadError(
            f"{dest} exists and holds no complete BUS-BRA (no {missing}): move it away or choose another folder (--to)"
        )
    zip_path, label = _archive(archive, base_url, progress)
    _unpack(zip_path, label, dest, progress)
    return dest


def is_busbra_dir(folder) -> bool:
    """True when `folder` has BUS-BRA's files and its CSV parses without a fatal problem (images unread)."""
    folder = Path(folder)
    if not folder.is_dir() or _missing(folder):
        return False
    try:
        dataset = load_dataset(folder)
    except (ValueError, OSError):  # DataError, a CSV that is not UTF-8
        return False
    return dataset.layout == "bus-bra" and not fatal_problems(dataset.problems)


# --------------------------------------------------------------------------- the archive


def _hints() -> str:
    return (
        f"Download {BUSBRA_ZIP} from https://doi.org/{BUSBRA_DOI} elsewhere and pass --archive PATH "
        f"(or set ${ZIP_ENV}), or point --base-url (or ${URL_ENV}) at a mirror that serves {BUSBRA_ZIP}."
    )


def _archive(archive, base_url, progress) -> tuple[Path, str]:
    """(path of a hash-checked BUSBRA.zip, what to call it in messages): the local copy or the download."""
    archive = archive or os.environ.get(ZIP_ENV) or None
    if archive:
        path = Path(archive).expanduser()
        if not path.is_file():
            raise DownloadError(f"no BUS-BRA archive at {path} (from --archive or ${ZIP_ENV})")
        _check_local_hash(path)
        return path, str(path)
    url = busbra_url(base_url)
    return _download(url, progress), f"{BUSBRA_ZIP} from {url}"


def _check_local_hash(path: Path) -> None:
    import pooch

    actual = pooch.file_hash(str(path), alg="sha256")
    if actual.lower() != BUSBRA_SHA256.lower():
        size = path.stat().st_size
        raise DownloadError(
            f"{path} has SHA-256 {actual}, expected {BUSBRA_SHA256} (BUS-BRA's {BUSBRA_ZIP}, "
            f"DOI {BUSBRA_DOI}); it is {size:,} bytes, the published archive {BUSBRA_SIZE:,}"
            + (": cut short?" if size < BUSBRA_SIZE else "")
        )


def _download(url: str, progress: bool) -> Path:
    """pooch.retrieve into `download_dir()`: hash-checked, kept, fetched again only when it differs."""
    import pooch
    import requests

    cache = download_dir()
    try:
        return Path(
            pooch.retrieve(
                url,
                known_hash=f"sha256:{BUSBRA_SHA256}",
                fname=BUSBRA_ZIP,
                path=cache,
                progressbar=bool(progress) and _has_tqdm(),
            )
        )
    except ValueError as err:
        if "hash" not in str(err).lower():
            raise DownloadError(f"could not download {url}: {err}") from err
        # pooch deleted its download; a stale file of the same name would be fetched again next time.
        (cache / BUSBRA_ZIP).unlink(missing_ok=True)
        found = re.search(r"got ([0-9a-fA-F]+)", str(err))
        actual = found.group(1) if found else "another hash"
        raise DownloadError(
            f"{BUSBRA_ZIP} downloaded from {url} has SHA-256 {actual}, expected {BUSBRA_SHA256} "
            f"({BUSBRA_SIZE:,} bytes, DOI {BUSBRA_DOI}): the download was cut short or corrupted, or the "
            "server sends another file. It was deleted and nothing was unpacked; try again. " + _hints()
        ) from err
    except requests.exceptions.ChunkedEncodingError as err:  # the server closed before Content-Length
        raise DownloadError(
            f"the download of {url} was cut short ({err}); nothing was kept, run again to start it over. " + _hints()
        ) from err
    except (requests.RequestException, OSError) as err:
        raise DownloadError(f"could not download {url} into {cache}: {err}. " + _hints()) from err


def _has_tqdm() -> bool:
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------- unpacking


def _missing(folder: Path) -> list[str]:
    """Entries of BUSBRA_LAYOUT that `folder` lacks."""
    return [e for e in BUSBRA_LAYOUT if not (folder / e.rstrip("/")).is_dir() and not (folder / e).is_file()]


def _layout_prefix(names: list[str], label: str) -> str:
    """The archive folder holding BUS-BRA ("BUSBRA/" or "" for its root); DownloadError naming what is missing."""
    tops = sorted({n.split("/", 1)[0] + ("/" if "/" in n else "") for n in names if not n.startswith("__MACOSX")})
    candidates = [""] + [t for t in tops if t.endswith("/")]
    candidates.sort(key=lambda p: (f"{p}bus_data.csv" not in names, p != "BUSBRA/", p))
    best = None
    for prefix in candidates:
        missing = [
            e
            for e in BUSBRA_LAYOUT
            if not (any(n.startswith(prefix + e) for n in names) if e.endswith("/") else prefix + e in names)
        ]
        if not missing:
            return prefix
        if best is None or len(missing) < len(best[1]):
            best = (prefix, missing)
    prefix, missing = best
    where = f" in its {prefix} folder" if prefix else ""
    raise DownloadError(
        f"{label} holds no {', '.join(missing)}{where}: expected BUS-BRA's {', '.join(BUSBRA_LAYOUT)} "
        f"in a BUSBRA/ folder or at the archive's root; its top level has {', '.join(tops[:8]) or 'nothing'}"
        + (" ..." if len(tops) > 8 else "")
    )


def _unpack(zip_path: Path, label: str, dest: Path, progress: bool) -> None:
    """Unpack beside `dest`, check the layout and every image, then rename into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.unpacking-", dir=dest.parent))
    try:
        try:
            with zipfile.ZipFile(zip_path) as zf:
                prefix = _layout_prefix(zf.namelist(), label)
                zf.extractall(tmp)
        except zipfile.BadZipFile as err:
            raise DownloadError(f"{label} is not a readable zip archive: {err}") from err
        root = tmp / prefix if prefix else tmp
        context = f"BUS-BRA unpacked from {label} (into {tmp}, now removed)"
        try:
            dataset = load_dataset(root)
        except DataError as err:
            raise DataError(err.problems, context=context) from err
        fatal = fatal_problems(check_dataset(dataset, progress=progress))
        if fatal:
            raise DataError(fatal, context=context)
        if dest.is_dir():
            dest.rmdir()  # empty (fetch_busbra refuses anything else)
        try:
            root.rename(dest)
        except OSError:
            if not is_busbra_dir(dest):  # another process may have put it there meanwhile
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
