"""Outputs checked before any work: nothing a user owns is ever lost, and no run fails at its end.

Every command calls :func:`check_outputs` with all its outputs and all its inputs before it reads
anything (and so do the library functions that write: :func:`sed.pipeline.plot_file`,
:func:`sed.batch.run_batch`, :func:`sed.heads.reports.train_and_report`). An output is refused,
with one line naming it and the reason, when:

- it is, or resolves to (through symbolic links or as a hard link), a file the run reads, or it
  is an existing file inside a folder the run reads: ``sed detect rec.wav -o rec.wav`` would
  replace the recording with a table;
- it is of the wrong kind: a folder where a file is written, a file where a folder is needed, or a
  path under a file (``rec.wav/events.csv``);
- it cannot be created or written: its folder is not writable, the file system is read-only or
  full, or its name is too long for the temporary file written beside it;
- it is a folder that already holds files but not the ``marker`` file ``sed`` writes there (a
  head directory without ``head.json``): the run would mix its files with someone else's;
- two outputs of the run are one file;
- it is an existing regular file that ``sed`` did not write, or that was changed since
  (:func:`sed.infra.written_by_sed`: a user's annotation table, an output edited by hand), unless
  ``overwrite`` (``--overwrite``) is given;
- it is a socket or a block device. A FIFO or a character device (``/dev/null``) is written to
  directly, never replaced (:func:`sed.infra.streamed`), so neither its folder nor its free space
  is looked at.

The check only looks (``stat``, ``access``, ``statvfs``); it writes nothing and reads no file's
content. A write can still fail later (the disk fills up during a run): that is
:class:`sed.errors.WriteError`, raised by the atomic writers of :mod:`sed.infra`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sed.errors import OutputError, WriteError
from sed.infra import special_kind, streamed, written_by_sed

#: Bytes the atomic writers add to a file name for its temporary sibling: ``.<name>.<8>.tmp``.
TEMPORARY_NAME_EXTRA = len("..12345678.tmp")

#: What may be given as the inputs of one option: nothing, one path, or several.
InputPaths = str | os.PathLike | Sequence[str | os.PathLike] | None


@dataclass(frozen=True)
class Output:
    """One output of a run.

    Attributes
    ----------
    path : str or os.PathLike or None
        The file or folder to write; None (an optional output not asked for) is skipped.
    option : str
        How the user named it (``-o``, ``--scores``...), for messages.
    folder : bool
        True for a folder the run writes files into, False for a file.
    marker : str, optional
        For a folder: a file ``sed`` writes into it (``head.json`` of a head directory). An
        existing folder that holds files but not this one is refused.
    """

    path: str | os.PathLike | None
    option: str = "-o"
    folder: bool = False
    marker: str | None = None


#: The option that lets a run replace files ``sed`` did not write.
OVERWRITE_OPTION = "--overwrite"


def check_outputs(
    outputs: Iterable[Output],
    inputs: Mapping[str, InputPaths] | None = None,
    *,
    overwrite: bool = False,
) -> None:
    """Refuse, before any work, outputs that would lose a user's data or could not be written.

    Parameters
    ----------
    outputs : iterable of Output
        Every file and folder the run will write.
    inputs : mapping of str to path, paths or None, optional
        Every file and folder the run reads, by the option that names it (``{"INPUT": paths,
        "--label-map": path}``). ``-`` (standard input) and None are skipped.
    overwrite : bool
        Replace existing files that ``sed`` did not write (``--overwrite``); without it they
        are refused.

    Raises
    ------
    OutputError
        One line: the output, the option that names it, and what is wrong (see the module
        docstring). Nothing has been read or written.
    """
    sources = [
        (option, os.fspath(path))
        for option, paths in (inputs or {}).items()
        for path in _as_list(paths)
        if os.fspath(path) != "-"
    ]
    seen: dict[str, str] = {}
    for output in outputs:
        if output.path is None:
            continue
        path = os.fspath(output.path)
        if not path:
            raise OutputError(f"{output.option} is empty; give a path to write")
        resolved = os.path.realpath(path)
        if resolved in seen:
            raise OutputError(f"{output.option} and {seen[resolved]} name the same file", path)
        seen[resolved] = output.option
        _check_kind(output, path)
        if not output.folder and _is_streamed(output, path):
            _check_not_an_input(output, path, resolved, sources)
            continue
        _check_writable(output, path)
        _check_not_an_input(output, path, resolved, sources)
        if output.folder and output.marker:
            _check_marker(output, path)
        if not output.folder and not overwrite:
            _check_written_by_sed(output, path)


def _is_streamed(output: Output, path: str) -> bool:
    """True for a FIFO or a character device (written to directly: only its own permission
    counts); a socket or a block device is refused."""
    try:
        if not streamed(path):
            return False
    except WriteError as error:
        raise OutputError(f"{output.option} {error.message}", path) from None
    if not os.access(path, os.W_OK):
        raise OutputError(f"{output.option} is {special_kind(path)} without write permission", path)
    return True


def _check_written_by_sed(output: Output, path: str) -> None:
    if os.path.isfile(path) and not written_by_sed(path):
        raise OutputError(
            f"{output.option} exists and sed did not write it (or it was changed since); it "
            f"will not be replaced: give {OVERWRITE_OPTION} to replace it, or another name",
            path,
        )


def _as_list(paths: InputPaths) -> list[str | os.PathLike]:
    if paths is None:
        return []
    if isinstance(paths, (str, os.PathLike)):
        return [paths]
    return [path for path in paths if path is not None]


def _check_kind(output: Output, path: str) -> None:
    if output.folder and os.path.exists(path) and not os.path.isdir(path):
        raise OutputError(f"{output.option} needs a folder, and this is a file", path)
    if not output.folder and os.path.isdir(path):
        raise OutputError(f"{output.option} needs a file name, and this is a folder", path)
    ancestor = _existing_ancestor(path)
    if not os.path.isdir(ancestor):
        raise OutputError(
            f"{output.option} cannot be created: {ancestor} is a file, not a folder", path
        )


def _existing_ancestor(path: str) -> str:
    """The nearest existing folder (or file) above ``path`` (``path``'s own folder if it exists)."""
    current = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


def _check_writable(output: Output, path: str) -> None:
    exists = os.path.exists(path)
    # Files are written beside themselves and renamed, so their folder must be writable too.
    folder = path if (output.folder and exists) else _existing_ancestor(path)
    if not output.folder and exists and not os.access(path, os.W_OK):
        raise OutputError(f"{output.option} is read-only; it will not be replaced", path)
    if _read_only_file_system(folder):
        raise OutputError(
            f"{output.option} cannot be written: {folder} is on a read-only file system", path
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(
            f"{output.option} cannot be written: no permission to write in {folder}", path
        )
    if _free_bytes(folder) == 0:
        raise OutputError(
            f"{output.option} cannot be written: no space left on the device of {folder}", path
        )
    name = os.path.basename(os.path.abspath(path))
    limit = _name_max(folder)
    if len(os.fsencode(name)) + TEMPORARY_NAME_EXTRA > limit:
        raise OutputError(
            f"{output.option} has a name too long for this file system ({len(os.fsencode(name))} "
            f"bytes; at most {limit - TEMPORARY_NAME_EXTRA})",
            path,
        )


def _read_only_file_system(folder: str) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (AttributeError, OSError):  # no statvfs (Windows): os.access decides
        return False


def _free_bytes(folder: str) -> int | None:
    try:
        status = os.statvfs(folder)
    except (AttributeError, OSError):
        return None
    return status.f_bavail * status.f_frsize


def _name_max(folder: str) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (AttributeError, OSError, ValueError):
        return 255


def _check_not_an_input(
    output: Output, path: str, resolved: str, sources: list[tuple[str, str]]
) -> None:
    status = _stat(path)
    for option, source in sources:  # the output is an input, or one under another name
        source_status = _stat(source)
        if output.folder and source_status is not None and os.path.isdir(source):
            continue  # a batch may write into the folder it reads: its file names are its own
        if resolved == os.path.realpath(source):
            how = "" if os.path.abspath(path) == os.path.abspath(source) else ", through a link"
        elif status is not None and source_status is not None and _same_file(status, source_status):
            how = ", as a hard link"
        else:
            continue
        raise OutputError(
            f"{output.option} would replace an input of this run ({option} {source}{how}); "
            "write it elsewhere",
            path,
        )
    if status is None or output.folder:
        return
    for option, source in sources:  # an existing file inside a folder the run reads
        if os.path.isdir(source) and _is_inside(resolved, os.path.realpath(source)):
            raise OutputError(
                f"{output.option} would replace a file inside {source} ({option}), which this "
                "run reads; write it elsewhere",
                path,
            )
    if status.st_nlink > 1:
        _check_hard_links(output, path, status, sources)


def _check_hard_links(
    output: Output, path: str, status: os.stat_result, sources: list[tuple[str, str]]
) -> None:
    """An existing output with other names: refuse it if one of them is inside an input folder
    (walked only in this rare case)."""
    for option, source in sources:
        if not os.path.isdir(source):
            continue
        for folder, _, names in os.walk(source, followlinks=True):
            for name in names:
                other = _stat(os.path.join(folder, name))
                if other is not None and _same_file(status, other):
                    raise OutputError(
                        f"{output.option} would replace an input of this run "
                        f"({option} {os.path.join(folder, name)}, as a hard link); write it "
                        "elsewhere",
                        path,
                    )


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _is_inside(path: str, folder: str) -> bool:
    return os.path.commonpath([path, folder]) == folder and path != folder


def _check_marker(output: Output, path: str) -> None:
    if not os.path.isdir(path):
        return
    entries = [name for name in os.listdir(path) if not name.startswith(".")]
    if entries and output.marker not in entries:
        raise OutputError(
            f"{output.option} is a folder that holds other files (no {output.marker}); give a "
            "new or empty folder",
            path,
        )
