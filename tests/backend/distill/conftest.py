"""A data home with the shipped digits teacher (`digits-default`), copied per test."""

import shutil

import pytest


@pytest.fixture
def kd_home(quickstart_home, tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(quickstart_home, home)
    monkeypatch.setenv("SEMVEC_HOME", str(home))
    return home
