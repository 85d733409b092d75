"""Energy of a training run: reported as not measured where codecarbon is missing."""

from __future__ import annotations

import sys

from sed.heads.energy import measure_energy


def test_energy_without_codecarbon(monkeypatch):
    monkeypatch.setitem(sys.modules, "codecarbon", None)  # as if not installed
    with measure_energy() as energy:
        pass
    assert energy == {"kwh": None, "method": "not measured: codecarbon is not installed"}
