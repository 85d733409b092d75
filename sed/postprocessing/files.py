"""Configuration files: a :class:`PostProcessing` as TOML or JSON, per-class thresholds as CSV.

Every error names the file and, where it can, the line.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

from sed.classes import read_csv_rows
from sed.errors import ParameterError
from sed.postprocessing.parameters import ClassThreshold
from sed.postprocessing.recording import PostProcessing


def save_config(config: PostProcessing, path: str | os.PathLike) -> None:
    """Write a configuration as TOML (``.toml``) or JSON (any other suffix), atomically.

    Parameters
    ----------
    config : PostProcessing
    path : str or os.PathLike
    """
    from sed.infra import atomic_open

    data = config.to_dict()
    if os.fspath(path).lower().endswith(".toml"):
        import tomli_w

        text = tomli_w.dumps(data)
    else:
        text = json.dumps(data, indent=2) + "\n"
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def load_config(path: str | os.PathLike) -> PostProcessing:
    """Read a configuration from a TOML (``.toml``) or JSON file.

    Raises
    ------
    ParameterError
        If the file is missing or unreadable, is not valid TOML/JSON, has an unknown key, or a
        value out of range; the message names the file.
    """
    import tomllib

    from sed.errors import long_integer_message
    from sed.infra import read_user_text

    path = os.fspath(path)
    kind = "TOML" if path.lower().endswith(".toml") else "JSON"
    text = read_user_text(path, ParameterError, "configuration")
    try:
        data = (
            tomllib.loads(text) if kind == "TOML" else json.loads(text, object_pairs_hook=_unique)
        )
    except _RepeatedKey as repeated:  # JSON keeps the last value without a word; TOML refuses
        lines = [n for n, line in enumerate(text.splitlines(), 1) if f'"{repeated.key}"' in line]
        where = f"line {lines[-1]}: " if len(lines) > 1 else ""
        raise ParameterError(f"{where}key {repeated.key!r} is given twice", path) from None
    except json.JSONDecodeError as error:  # its message ends with line and column
        hint = "" if path.lower().endswith(".json") else _SUFFIX_HINT
        raise ParameterError(
            f"line {error.lineno}: not valid JSON ({error.msg}){hint}", path
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ParameterError(_toml_error(error, text), path) from None
    except RecursionError:  # nested beyond Python's stack
        raise ParameterError(f"not valid {kind}: nested too deeply", path) from None
    except ValueError:  # an integer beyond Python's 4,300 digits
        raise ParameterError(long_integer_message(text), path) from None
    try:
        return PostProcessing.from_dict(data)
    except ParameterError as error:
        key = _first_bad_key(data)
        line = _key_line(text, key) if key is not None else None
        where = f"line {line}: " if line else f"key {key!r}: " if key is not None else ""
        raise ParameterError(where + error.message, path) from None


#: Why a file that is neither .toml nor .json was read as JSON (a .yaml, .ini or .cfg file).
_SUFFIX_HINT = "; a configuration ending in .toml is read as TOML, any other as JSON"


class _RepeatedKey(Exception):
    """A JSON object names one key twice."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object as a dict, refusing a key given twice (``json.loads`` keeps the last)."""
    data: dict[str, object] = {}
    for key, value in pairs:
        if key in data:
            raise _RepeatedKey(key)
        data[key] = value
    return data


def _first_bad_key(data) -> str | None:
    """The first key of a configuration that makes it invalid (keys taken in file order)."""
    if not isinstance(data, Mapping):
        return None
    keys = list(data)
    for end in range(1, len(keys) + 1):
        try:
            PostProcessing.from_dict({key: data[key] for key in keys[:end]})
        except ParameterError:
            return str(keys[end - 1])
    return None


def _key_line(text: str, key: str) -> int | None:
    """The line where ``key`` is set in a TOML or JSON text (``key =``, ``"key":``, ``[key``)."""
    name = re.escape(key)
    pattern = re.compile(
        rf"^\s*(?:{name}|\"{name}\"|'{name}')\s*=|\"{name}\"\s*:|^\s*\[\s*(?:{name}|\"{name}\")\b"
    )
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.search(line):
            return number
    return None


def _toml_error(error: Exception, text: str) -> str:
    """``line N: not valid TOML (<reason>)`` from tomllib's "<reason> (at line N, column M)" or
    "<reason> (at end of document)"."""
    message = str(error)
    where = re.search(r"\s*\(at line (\d+), column \d+\)$|\s*\(at end of document\)$", message)
    if where is None:
        return f"not valid TOML ({message})"
    line = int(where.group(1)) if where.group(1) else max(1, len(text.splitlines()))
    return f"line {line}: not valid TOML ({message[: where.start()]})"


def read_class_thresholds(path: str | os.PathLike) -> dict[str, ClassThreshold]:
    """Read per-class thresholds: CSV ``event_label,threshold_on[,threshold_off]``.

    Parameters
    ----------
    path : str or os.PathLike
        A header line, then one label per line; ``threshold_off`` may be absent or empty.

    Returns
    -------
    thresholds : dict of str to ClassThreshold

    Raises
    ------
    ParameterError
        If the file is unreadable, lacks the header, repeats a label, or holds a value out of
        range; the message gives the file and line.
    """
    path = os.fspath(path)
    rows = read_csv_rows(path, "thresholds")
    header = [c.strip() for c in rows[0]] if rows else []
    if header[:2] != ["event_label", "threshold_on"] or header[2:] not in ([], ["threshold_off"]):
        raise ParameterError(
            "line 1: expected the header event_label,threshold_on[,threshold_off]", path
        )
    thresholds: dict[str, ClassThreshold] = {}
    for line, row in enumerate(rows[1:], start=2):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if len(cells) > len(header) or len(cells) < 2 or not cells[0]:
            raise ParameterError(f"line {line}: expected {','.join(header)}", path)
        if cells[0] in thresholds:
            raise ParameterError(f"line {line}: event label {cells[0]!r} appears twice", path)
        try:
            off = cells[2] if len(cells) > 2 and cells[2] else None
            # Text is checked and converted by ClassThreshold, with its own messages.
            thresholds[cells[0]] = ClassThreshold(cells[1], off)  # type: ignore[arg-type]
        except ParameterError as error:
            raise ParameterError(f"line {line}: {error.message}", path) from None
    return thresholds
