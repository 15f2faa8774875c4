"""breastnet.data.download: BUS-BRA fetched from a local HTTP server standing in for Zenodo.

A six-image BUS-BRA-like zip is made in tmp_path; the module's expected SHA-256 and size are
patched to its own. No test reaches the network.
"""

import csv
import hashlib
import io
import socket
import subprocess
import sys
import threading
import zipfile
from argparse import ArgumentParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

from breastnet.cli import data as cli_data
from breastnet.data import download
from breastnet.data.download import DownloadError, fetch_busbra
from breastnet.data.load import load_dataset
from breastnet.data.problems import DataError
from breastnet.data.records import BUSBRA_CITATION, resolve_data_path

H, W = 40, 50
FIELDS = ["ID", "Case", "Histology", "Pathology", "BIRADS", "Device", "Width", "Height", "Side", "BBOX"]


def _busbra_files(n_patients: int = 3) -> dict[str, bytes]:
    """BUS-BRA's files ({name inside BUSBRA/: bytes}): two images (left, right) per patient."""
    files, rows, folds5, folds10 = {}, [], [], []
    for case in range(1, n_patients + 1):
        for side in ("l", "r"):
            rid = f"bus_{case:04d}-{side}"
            image = ((np.arange(H * W).reshape(H, W) + 7 * case) % 251).astype(np.uint8)
            mask = np.zeros((H, W), np.uint8)
            mask[12:27, 10 + case : 30 + case] = 255  # x 10+case.., 20 wide; y 12..26
            files[f"Images/{rid}.png"] = cv2.imencode(".png", image)[1].tobytes()
            files[f"Masks/mask_{case:04d}-{side}.png"] = cv2.imencode(".png", mask)[1].tobytes()
            pathology = ("benign", "malignant")[case % 2]
            bbox = f"[{11 + case},13,19,14]"  # BUS-BRA's convention: 1-based corner, extent - 1
            rows.append([rid, case, "fibroadenoma", pathology, 3 + case % 2, "GE Logiq 7", W, H, side, bbox])
            folds5.append([rid, pathology, case])
            folds10.append([rid, pathology, case])
    for name, header, body in (
        ("bus_data.csv", FIELDS, rows),
        ("5-fold-cv.csv", ["ID", "Pathology", "kFold"], folds5),
        ("10-fold-cv.csv", ["ID", "Pathology", "kFold"], folds10),
    ):
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerows(body)
        files[name] = text.getvalue().encode()
    files["LICENSE.txt"] = b"Cite the BUS-BRA paper.\n"
    return files


def _zip(files: dict[str, bytes], prefix: str = "BUSBRA/") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(prefix + name, data)
    return buffer.getvalue()


GOOD = _zip(_busbra_files())


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Server:
    """127.0.0.1 serving `body` at /BUSBRA.zip; `requests` lists the paths asked for."""

    def __init__(self):
        self.body, self.requests, self.lie_about_length = GOOD, [], False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                if self.path != f"/{download.BUSBRA_ZIP}":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                length = len(GOOD) if server.lie_about_length else len(server.body)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def small_busbra(tmp_path, monkeypatch):
    """The module expects the small zip; each test has its own cache; no mirror or copy is set."""
    monkeypatch.setattr(download, "BUSBRA_SHA256", _sha(GOOD))
    monkeypatch.setattr(download, "BUSBRA_SIZE", len(GOOD))
    monkeypatch.setenv("BREASTNET_CACHE", str(tmp_path / "cache"))
    for env in (download.URL_ENV, download.ZIP_ENV):
        monkeypatch.delenv(env, raising=False)


def _cached_zips(tmp_path) -> list[str]:
    folder = tmp_path / "cache" / "downloads"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _assert_nothing_left(dest: Path):
    assert not dest.exists()
    assert [p.name for p in dest.parent.iterdir() if ".unpacking-" in p.name] == []


# --------------------------------------------------------------------------- downloads


def test_download_checks_unpacks_and_loads(tmp_path, server):
    dest = tmp_path / "data" / "BUS-BRA"
    assert fetch_busbra(dest, base_url=server.url) == dest
    assert server.requests == ["/BUSBRA.zip"]
    assert sorted(p.name for p in dest.iterdir()) == [
        "10-fold-cv.csv",
        "5-fold-cv.csv",
        "Images",
        "LICENSE.txt",
        "Masks",
        "bus_data.csv",
    ]
    ds = load_dataset(dest)
    assert (ds.name, ds.layout, len(ds), ds.summary()["patients"]) == ("BUS-BRA", "bus-bra", 6, 3)
    assert set(ds.folds) == {5, 10} and ds.citation == BUSBRA_CITATION
    assert _cached_zips(tmp_path) == ["BUSBRA.zip"]
    assert sorted(p.name for p in dest.parent.iterdir()) == ["BUS-BRA"]  # no temporary folder left


def test_a_second_call_downloads_nothing_even_without_the_zip(tmp_path, server):
    dest = tmp_path / "BUS-BRA"
    fetch_busbra(dest, base_url=server.url)
    assert fetch_busbra(dest, base_url=server.url) == dest
    (tmp_path / "cache" / "downloads" / "BUSBRA.zip").unlink()
    assert fetch_busbra(dest, base_url=server.url) == dest
    assert len(server.requests) == 1
    # The cached zip is unpacked again, not downloaded, when the folder is gone.
    fetch_busbra(tmp_path / "again", base_url=server.url)
    assert len(server.requests) == 2
    fetch_busbra(tmp_path / "third", base_url=server.url)
    assert len(server.requests) == 2


@pytest.mark.parametrize("served", ["another file", "half the bytes"])
def test_a_wrong_hash_names_the_url_and_both_hashes_and_leaves_nothing(tmp_path, server, served):
    server.body = _zip(_busbra_files(2)) if served == "another file" else GOOD[: len(GOOD) // 2]
    dest = tmp_path / "BUS-BRA"
    with pytest.raises(DownloadError) as err:
        fetch_busbra(dest, base_url=server.url)
    message = str(err.value)
    assert f"{server.url}/BUSBRA.zip" in message
    assert _sha(GOOD) in message and _sha(server.body) in message
    assert "--archive" in message
    _assert_nothing_left(dest)
    assert _cached_zips(tmp_path) == []  # pooch's bad download is not kept


def test_a_download_cut_short_names_the_url_and_leaves_nothing(tmp_path, server):
    """The server promises the whole file and closes after half of it."""
    server.body, server.lie_about_length = GOOD[: len(GOOD) // 2], True
    dest = tmp_path / "BUS-BRA"
    with pytest.raises(DownloadError, match=f"{server.url}/BUSBRA.zip"):
        fetch_busbra(dest, base_url=server.url)
    _assert_nothing_left(dest)
    assert _cached_zips(tmp_path) == []


def test_a_refused_connection_names_the_url_and_the_stand_ins(tmp_path, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv(download.URL_ENV, f"http://127.0.0.1:{port}/mirror/")
    dest = tmp_path / "BUS-BRA"
    with pytest.raises(DownloadError) as err:
        fetch_busbra(dest)
    message = str(err.value)
    assert f"could not download http://127.0.0.1:{port}/mirror/BUSBRA.zip" in message
    assert "--archive" in message and download.ZIP_ENV in message and download.URL_ENV in message
    _assert_nothing_left(dest)


# --------------------------------------------------------------------------- archives


def _write(tmp_path, data: bytes, name="BUSBRA.zip") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_another_layout_names_the_missing_file_and_leaves_nothing(tmp_path, server, monkeypatch):
    files = _busbra_files()
    del files["bus_data.csv"]
    server.body = _zip(files)
    monkeypatch.setattr(download, "BUSBRA_SHA256", _sha(server.body))
    dest = tmp_path / "BUS-BRA"
    with pytest.raises(DownloadError, match=r"BUSBRA\.zip from .* holds no bus_data\.csv in its BUSBRA/ folder"):
        fetch_busbra(dest, base_url=server.url)
    _assert_nothing_left(dest)

    other = _zip({"readme.txt": b"x", "pictures/a.png": b"x"}, prefix="")
    monkeypatch.setattr(download, "BUSBRA_SHA256", _sha(other))
    with pytest.raises(DownloadError) as err:
        fetch_busbra(dest, archive=_write(tmp_path, other, "other.zip"))
    message = str(err.value)
    assert "other.zip holds no bus_data.csv, 5-fold-cv.csv, 10-fold-cv.csv, Images/, Masks/" in message
    assert "pictures/, readme.txt" in message
    _assert_nothing_left(dest)


def test_a_local_zip_with_files_at_its_root_is_hash_checked_and_unpacked(tmp_path, monkeypatch):
    flat = _zip(_busbra_files(), prefix="")
    dest = tmp_path / "BUS-BRA"
    with pytest.raises(DownloadError, match=f"has SHA-256 {_sha(flat)}, expected {_sha(GOOD)}"):
        fetch_busbra(dest, archive=_write(tmp_path, flat))
    _assert_nothing_left(dest)
    monkeypatch.setattr(download, "BUSBRA_SHA256", _sha(flat))
    monkeypatch.setenv(download.ZIP_ENV, str(_write(tmp_path, flat)))
    assert len(load_dataset(fetch_busbra(dest))) == 6
    assert _cached_zips(tmp_path) == []  # nothing downloaded


def test_an_unreadable_image_is_fatal_and_leaves_nothing(tmp_path, monkeypatch):
    files = _busbra_files()
    files["Images/bus_0002-r.png"] = files["Images/bus_0002-r.png"][:60]
    data = _zip(files)
    monkeypatch.setattr(download, "BUSBRA_SHA256", _sha(data))
    dest = tmp_path / "BUS-BRA"
    with pytest.raises(DataError, match="bus_0002-r.png"):
        fetch_busbra(dest, archive=_write(tmp_path, data))
    _assert_nothing_left(dest)


def test_a_destination_holding_something_else_is_left_alone(tmp_path, server):
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    with pytest.raises(DownloadError, match="holds no complete BUS-BRA"):
        fetch_busbra(dest, base_url=server.url)
    assert [p.name for p in dest.iterdir()] == ["notes.txt"] and server.requests == []
    (dest / "notes.txt").unlink()  # an empty folder is filled
    assert len(load_dataset(fetch_busbra(dest, base_url=server.url))) == 6


# --------------------------------------------------------------------------- resolve and CLI


def test_resolve_busbra_downloads_into_the_cache_once(tmp_path, server, monkeypatch):
    monkeypatch.setenv(download.URL_ENV, server.url)
    expected = tmp_path / "cache" / "BUS-BRA"
    assert resolve_data_path("busbra") == expected
    monkeypatch.setenv("BREASTNET_DATA", "BUSBRA")
    assert resolve_data_path(None) == expected
    assert len(load_dataset("BusBra")) == 6
    assert len(server.requests) == 1
    assert resolve_data_path(Path("busbra")) == Path("busbra")  # a Path is a folder
    assert resolve_data_path("./busbra") == Path("busbra")


def test_records_does_not_import_pooch():
    code = "import sys, breastnet.data.records; print('pooch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def _parse(argv):
    parser = ArgumentParser()
    cli_data.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_cli_prints_the_folder_counts_citation_and_licence(tmp_path, server, capsys):
    dest = tmp_path / "BUS-BRA"
    args = _parse(["data", "busbra", "--to", str(dest), "--base-url", server.url])
    assert args.command == cli_data.COMMAND and cli_data.run(args) == 0
    out = capsys.readouterr().out
    assert f"BUS-BRA in {dest}" in out and "6 images of 3 patients" in out
    assert BUSBRA_CITATION in out and "CC BY 4.0" in out


def test_cli_error_goes_to_stderr_with_exit_code_1(tmp_path, capsys):
    args = _parse(["data", "busbra", "--to", str(tmp_path / "d"), "--archive", str(tmp_path / "none.zip")])
    assert cli_data.run(args) == 1
    assert "no BUS-BRA archive at" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _parse(["data", "busi"])
