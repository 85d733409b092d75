"""AudioSet classes of YAMNet, and the selection of classes an analysis reports.

The class map is the reference ``yamnet_class_map.csv`` (``index,mid,display_name``, 521 rows),
identical to the asset of the TF-Hub YAMNet SavedModel. A :class:`ClassSelection` says which
event labels a detection reports and which YAMNet classes each label stands for; an event label's
score in a window is the maximum over its classes' scores (the convention of the label maps in
``shared/data/labels``).
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np

from sed.errors import ParameterError
from sed.infra import read_user_text

LABEL_MAP_COLUMNS = ("event_label", "yamnet_display_names")


@dataclass(frozen=True)
class ClassMap:
    """YAMNet's 521 AudioSet classes.

    Attributes
    ----------
    mids : tuple of str
        AudioSet machine ids (``/m/09x0r``), in output order.
    display_names : tuple of str
        AudioSet display names (``Speech``), in output order.
    """

    mids: tuple[str, ...]
    display_names: tuple[str, ...]
    _lookup: dict[str, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self):
        # Name -> index, built once per map (mids, display names and their folded forms).
        table: dict[str, int] = {}
        for i, (mid, name) in enumerate(zip(self.mids, self.display_names)):
            table.setdefault(mid, i)
            table.setdefault(name, i)
            table.setdefault(_fold(name), i)
        object.__setattr__(self, "_lookup", table)

    def __len__(self) -> int:
        return len(self.display_names)

    def index_of(self, name: str) -> int:
        """Output index of a class given by display name or mid (exact, then case-insensitive).

        Raises
        ------
        ParameterError
            If no class has that name, with the closest display names as suggestions.
        """
        index = self._lookup.get(name.strip())
        if index is None:
            index = self._lookup.get(_fold(name))
        if index is None:
            hint = _did_you_mean(name, self.display_names, containing=True)
            raise ParameterError(
                f"unknown YAMNet class {name.strip()!r}{hint}"
                " (`sed classes --search TEXT` lists class names)"
            )
        return index

    def search(self, text: str) -> list[int]:
        """Indices of the classes whose display name or mid contains every word of ``text``.

        Parameters
        ----------
        text : str
            One or more words separated by white space; each must occur in the display name or
            the mid (case-insensitive), in any order: ``"bell bicycle"`` finds ``Bicycle bell``.
            Text of white space only matches every class.

        Returns
        -------
        indices : list of int
            Output indices in model order (ascending).
        """
        words = text.casefold().split()
        return [
            i
            for i, (mid, name) in enumerate(zip(self.mids, self.display_names))
            if all(word in name.casefold() or word in mid.casefold() for word in words)
        ]

    def knows(self, name: str) -> bool:
        """True if ``name`` is a display name or mid of this map (case- and spacing-insensitive)."""
        return name.strip() in self._lookup or _fold(name) in self._lookup


def _fold(name: str) -> str:
    """Case- and spacing-insensitive form of a class name (``"Chicken,rooster"`` matches)."""
    return ",".join(part.strip() for part in name.split(",")).casefold()


def _did_you_mean(name: str, names: Sequence[str], *, containing: bool = False) -> str:
    """``"; did you mean 'A', 'B'?"`` naming the ``names`` closest to an unknown ``name`` (up to
    three by :func:`difflib.get_close_matches` on the folded forms, then with ``containing`` up
    to three more that contain it), or ``""`` when none is close."""
    folded = {_fold(n): n for n in names}
    close = [
        folded[c] for c in difflib.get_close_matches(_fold(name), list(folded), n=3, cutoff=0.6)
    ]
    if containing:
        close += [n for n in names if _fold(name) in _fold(n) and n not in close][:3]
    return "; did you mean " + ", ".join(map(repr, close)) + "?" if close else ""


def load_class_map(path: str | os.PathLike | None = None) -> ClassMap:
    """Read a YAMNet class map (``index,mid,display_name``).

    Parameters
    ----------
    path : str or os.PathLike, optional
        A ``yamnet_class_map.csv``; by default the copy shipped with ``sed`` (the reference
        class map, read once per process: it is part of the installed package).

    Returns
    -------
    class_map : ClassMap
    """
    if path is None:
        return _packaged_class_map()
    with open(path, encoding="utf-8") as handle:
        return _parse_class_map(handle.read())


@lru_cache(maxsize=1)
def _packaged_class_map() -> ClassMap:
    text = resources.files("sed").joinpath("data/yamnet_class_map.csv").read_text("utf-8")
    return _parse_class_map(text)


def _parse_class_map(text: str) -> ClassMap:
    rows = list(csv.DictReader(text.splitlines()))
    return ClassMap(tuple(r["mid"] for r in rows), tuple(r["display_name"] for r in rows))


@dataclass(frozen=True)
class ClassSelection:
    """The event labels a detection reports and the YAMNet classes behind each.

    Attributes
    ----------
    event_labels : tuple of str
        Labels written in events (``dog``, or a display name such as ``Bicycle bell``).
    class_indices : tuple of tuple of int
        For each event label, the YAMNet output indices it stands for.
    """

    event_labels: tuple[str, ...]
    class_indices: tuple[tuple[int, ...], ...]

    def __len__(self) -> int:
        return len(self.event_labels)

    def apply(self, scores: np.ndarray) -> np.ndarray:
        """Scores of the event labels: for each label, the maximum over its classes.

        Parameters
        ----------
        scores : np.ndarray [shape=(n_windows, 521)]

        Returns
        -------
        label_scores : np.ndarray [shape=(n_windows, len(self))]
        """
        if all(len(ix) == 1 for ix in self.class_indices):
            return scores[:, [ix[0] for ix in self.class_indices]]
        return np.stack([scores[:, list(ix)].max(axis=1) for ix in self.class_indices], axis=1)

    @property
    def is_identity(self) -> bool:
        """True when the selection is every class, in model order, under its own name."""
        return self.class_indices == tuple((i,) for i in range(len(self.class_indices)))


def all_classes(class_map: ClassMap) -> ClassSelection:
    """Every class under its display name (the default selection)."""
    return ClassSelection(class_map.display_names, tuple((i,) for i in range(len(class_map))))


def parse_class_list(classes: str | Sequence[str], class_map: ClassMap) -> ClassSelection:
    """Select classes from a list of display names or mids.

    In a comma-separated string, display names that contain commas (``Chicken, rooster``) are
    recognised: the longest run of comma-separated parts that names a class wins. A list or
    tuple holds one name per item.

    Parameters
    ----------
    classes : str or sequence of str
        For example ``"Dog,Bark"``, ``"Chicken, rooster,/m/0bt9lr"`` or
        ``["Bicycle bell", "Ding"]``.
    class_map : ClassMap

    Returns
    -------
    selection : ClassSelection
        One event label per class, named by display name, in the order given.

    Raises
    ------
    ParameterError
        If a name is unknown (the closest names are suggested), the list is empty, or
        ``classes`` is neither a string nor a sequence of strings.
    """
    if not isinstance(classes, str):
        if not (isinstance(classes, Sequence) and all(isinstance(c, str) for c in classes)):
            raise ParameterError(
                f"classes must be a string or a list of strings, got {type(classes).__name__}"
            )
        named = dict.fromkeys(class_map.index_of(name) for name in classes if name.strip())
        return _selection_of(list(named), class_map)
    parts = [part.strip() for part in classes.split(",")]
    indices: list[int] = []
    i = 0
    while i < len(parts):
        if not parts[i]:
            i += 1
            continue
        for j in range(len(parts), i, -1):
            candidate = ", ".join(parts[i:j])
            if j - i > 1 and not class_map.knows(candidate):
                continue
            index = class_map.index_of(candidate)  # raises for an unknown single part
            if index not in indices:
                indices.append(index)
            i = j
            break
    return _selection_of(indices, class_map)


def _selection_of(indices: list[int], class_map: ClassMap) -> ClassSelection:
    if not indices:
        raise ParameterError("no class names given")
    return ClassSelection(
        tuple(class_map.display_names[k] for k in indices), tuple((k,) for k in indices)
    )


def read_csv_rows(path: str, what: str) -> list[list[str]]:
    """Every row of a small CSV parameter file (UTF-8, a byte-order mark allowed).

    Parameters
    ----------
    path : str
    what : str
        What the file is, for the message (``label map``, ``thresholds``).

    Raises
    ------
    ParameterError
        Naming the file: missing or unreadable (:func:`sed.infra.read_user_text`), or the line
        where it stops being UTF-8 or CSV.
    """
    text = read_user_text(path, ParameterError, what)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return list(reader)
    except csv.Error as error:  # a NUL byte, a field over the csv module's size limit
        raise ParameterError(f"line {reader.line_num}: {error}", path) from None


def read_label_map(path: str | os.PathLike, class_map: ClassMap) -> ClassSelection:
    """Read a label map: CSV with columns ``event_label,yamnet_display_names``.

    ``yamnet_display_names`` holds one or more semicolon-separated YAMNet display names (or
    mids); an event label scores as the maximum over them.

    Parameters
    ----------
    path : str or os.PathLike
    class_map : ClassMap

    Returns
    -------
    selection : ClassSelection

    Raises
    ------
    ParameterError
        If the file is missing or unreadable, lacks the columns, has an empty or repeated label,
        or names an unknown class (the message gives file, line and name).
    """
    path = os.fspath(path)
    rows = read_csv_rows(path, "label map")
    if not rows or tuple(c.strip() for c in rows[0][:2]) != LABEL_MAP_COLUMNS:
        raise ParameterError(
            f"label map must start with the header {','.join(LABEL_MAP_COLUMNS)}", path
        )
    labels: list[str] = []
    indices: list[tuple[int, ...]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise ParameterError(f"line {line}: expected event_label,yamnet_display_names", path)
        label = row[0].strip()
        if label in labels:
            raise ParameterError(f"line {line}: event label {label!r} appears twice", path)
        try:
            names = [n for n in (s.strip() for s in row[1].split(";")) if n]
            indices.append(tuple(dict.fromkeys(class_map.index_of(n) for n in names)))
        except ParameterError as error:
            raise ParameterError(f"line {line}: {error.message}", path) from None
        labels.append(label)
    if not labels:
        raise ParameterError("label map has no event labels", path)
    return ClassSelection(tuple(labels), tuple(indices))


@dataclass(frozen=True)
class OntologyClass:
    """One class of the AudioSet ontology below another (:func:`class_children`).

    Attributes
    ----------
    mid : str
        The AudioSet machine identifier (``/m/015p6``).
    display_name : str
        The ontology's name of the class.
    depth : int >= 1
        1 for a direct child, 2 for a grandchild, and so on.
    index : int or None
        YAMNet's output index of the class, None for the 111 ontology classes YAMNet does not
        score (abstract or blacklisted ones).
    """

    mid: str
    display_name: str
    depth: int
    index: int | None


@lru_cache(maxsize=1)
def _ontology() -> dict[str, dict]:
    """The AudioSet ontology shipped with ``sed`` (``data/audioset_ontology.json``, Google,
    CC BY-SA 4.0), by mid."""
    text = resources.files("sed").joinpath("data/audioset_ontology.json").read_text("utf-8")
    return {entry["id"]: entry for entry in json.loads(text)}


def class_children(name: str, class_map: ClassMap | None = None) -> list[OntologyClass]:
    """Every class below ``name`` in the AudioSet ontology, depth first, in the ontology's order.

    Parameters
    ----------
    name : str
        A display name of the ontology or a mid (``"Bird"``, ``"/m/015p6"``), case- and
        spacing-insensitive.
    class_map : ClassMap, optional
        Gives each class its YAMNet index; the packaged class map by default.

    Returns
    -------
    children : list of OntologyClass
        Empty for a class with no children. A class reached along two paths is listed once, at
        its first (shallowest in depth-first order) place.

    Raises
    ------
    ParameterError
        If no ontology class has that name or mid, with the closest names as suggestions.

    Source: the AudioSet ontology (Gemmeke et al., ICASSP 2017), ``child_ids`` of each class.
    """
    class_map = class_map or load_class_map()
    ontology = _ontology()
    by_name = {_fold(entry["name"]): mid for mid, entry in ontology.items()}
    root = name.strip() if name.strip() in ontology else by_name.get(_fold(name))
    if root is None:
        hint = _did_you_mean(name, [entry["name"] for entry in ontology.values()])
        raise ParameterError(f"no AudioSet ontology class {name.strip()!r}{hint}")
    index_of = {mid: i for i, mid in enumerate(class_map.mids)}
    found: list[OntologyClass] = []
    seen = {root}

    def visit(mid: str, depth: int) -> None:
        for child in ontology[mid]["child_ids"]:
            if child in seen or child not in ontology:
                continue
            seen.add(child)
            entry = ontology[child]
            found.append(OntologyClass(child, entry["name"], depth, index_of.get(child)))
            visit(child, depth + 1)

    visit(root, 1)
    return found
