"""Energy of a training run, measured with codecarbon where it is installed (an optional extra).

Only energy (kWh) is reported: it does not depend on where the machine stands, unlike the
emissions codecarbon derives from it with a country's carbon intensity.
"""

from __future__ import annotations

import contextlib

#: codecarbon's offline tracker needs a country (ISO 3166 alpha-3) for its carbon intensity; we
#: report energy only, which any valid code leaves the same.
EMISSIONS_COUNTRY = "USA"


@contextlib.contextmanager
def measure_energy():
    """Measure the energy of the enclosed block with codecarbon's offline tracker, if installed.

    Yields
    ------
    energy : dict
        Filled on exit: ``kwh`` (float, or None when not measured) and ``method`` (how it was
        obtained, or why not). codecarbon is optional (``pip install codecarbon``); without
        hardware counters (Intel RAPL, NVML) it estimates CPU power from its thermal design power.
    """
    energy: dict = {"kwh": None, "method": "not measured: codecarbon is not installed"}
    try:
        from codecarbon import OfflineEmissionsTracker
    except ImportError:
        yield energy
        return
    import logging

    # codecarbon logs its start-up at INFO before its log_level applies: quiet it first.
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    # Only the energy (kWh) is reported, which does not depend on where the machine is; the
    # offline tracker needs a country solely to convert energy into emissions, which we drop.
    tracker = OfflineEmissionsTracker(
        country_iso_code=EMISSIONS_COUNTRY,
        save_to_file=False,
        log_level="error",
        measure_power_secs=1,
    )
    tracker.start()
    try:
        yield energy
    finally:
        tracker.stop()
        data = tracker.final_emissions_data
        energy["kwh"] = float(data.energy_consumed) if data is not None else None
        energy["method"] = (
            "codecarbon offline tracker: RAPL counters where readable, else an "
            "estimate from the CPU's rated power"
        )
