"""Publishing settings: the repository found, buttons only with one, generated pages sent to templates."""

import json
import subprocess

import pytest
import yaml

from breastnet.book import publish


@pytest.fixture
def no_repository_env(monkeypatch):
    for name in ("BOOK_REPOSITORY", "GITHUB_REPOSITORY", "BOOK_JUPYTERHUB_URL"):
        monkeypatch.delenv(name, raising=False)


def test_repository_from_environment_then_origin(tmp_path, monkeypatch, no_repository_env):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert publish.repository(tmp_path) is None  # no remote: unknown
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", "git@github.com:someone/bn.git"], check=True)
    assert publish.repository(tmp_path) == "someone/bn"
    monkeypatch.setenv("GITHUB_REPOSITORY", "ci-owner/bn-ci")
    assert publish.repository(tmp_path) == "ci-owner/bn-ci"
    monkeypatch.setenv("BOOK_REPOSITORY", "me/mine")
    assert publish.repository(tmp_path) == "me/mine"


def test_book_config_adds_buttons_only_for_a_known_repository(tmp_path, monkeypatch, no_repository_env):
    (tmp_path / "_config.yml").write_text("title: T\nhtml:\n  use_repository_button: false\n")
    monkeypatch.setattr(publish, "repository", lambda root: None)
    assert publish.book_config(tmp_path, log=lambda *a: None) == []  # no MathJax copy, no repository
    monkeypatch.setattr(publish, "repository", lambda root: "Org/Study")
    monkeypatch.setenv("BOOK_JUPYTERHUB_URL", "https://hub.example.org")
    args = publish.book_config(tmp_path, log=lambda *a: None)
    config = yaml.safe_load((tmp_path / "_build" / "_config.local-html.yml").read_text())
    assert args == ["--config", str(tmp_path / "_build" / "_config.local-html.yml")]
    assert config["title"] == "T" and config["repository"]["url"] == "https://github.com/Org/Study"
    assert config["html"]["use_repository_button"] is True
    assert config["html"]["baseurl"] == "https://org.github.io/Study/"
    assert config["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert config["launch_buttons"]["jupyterhub_url"] == "https://hub.example.org"
    assert "sphinx" not in config  # no local MathJax here
    publish.book_config(tmp_path, log=lambda *a: None, builder="pdflatex")  # the PDF: no code cells
    pdf = yaml.safe_load((tmp_path / "_build" / "_config.local-pdflatex.yml").read_text())
    assert pdf["sphinx"]["config"]["nb_remove_code_source"] is True


def test_template_of_reads_papermill_metadata(tmp_path):
    (tmp_path / "notebooks").mkdir()
    nb = tmp_path / "book" / "generated" / "02_variant_01_DSTL.ipynb"
    nb.parent.mkdir(parents=True)
    meta = {"papermill": {"input_path": "notebooks/02_variant.ipynb", "cwd": str(tmp_path)}}
    nb.write_text(json.dumps({"metadata": meta, "cells": []}))
    assert publish.template_of(nb, tmp_path) == "notebooks/02_variant.ipynb"
    nb.write_text(json.dumps({"metadata": {}, "cells": []}))  # not made by papermill
    assert publish.template_of(nb, tmp_path) is None


def test_retarget_reaches_nested_buttons():
    buttons = [
        {"type": "group", "buttons": [{"url": "https://mybinder.org/x?urlpath=lab/tree/book/generated/p.ipynb"}]},
        {"url": "https://github.com/o/r/edit/main/book/generated/p.ipynb"},
        {"url": "https://github.com/o/r"},
    ]
    assert publish._retarget(buttons, "book/generated/p.ipynb", "notebooks/t.ipynb") == 2
    assert buttons[0]["buttons"][0]["url"].endswith("urlpath=lab/tree/notebooks/t.ipynb")
    assert buttons[1]["url"] == "https://github.com/o/r/edit/main/notebooks/t.ipynb"


def test_environment_yml_pins_what_pyproject_pins():
    """Binder and conda users build environment.yml: its pip lines may not drift from pyproject.toml."""
    from pathlib import Path

    from packaging.requirements import Requirement

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    declared = {
        Requirement(r).name: Requirement(r).specifier
        for r in project["dependencies"] + project["optional-dependencies"]["book"]
    }
    env = yaml.safe_load((root / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "python=3.11" in env["dependencies"]
    for line in pip:
        req = Requirement(line)
        assert req.name in declared, f"environment.yml: {req.name} is not a dependency in pyproject.toml"
        assert req.specifier == declared[req.name], f"environment.yml: {line} but pyproject.toml: {declared[req.name]}"
    assert (root / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
    assert '-e ".[book]"' in (root / "postBuild").read_text()
