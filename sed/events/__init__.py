"""Event I/O: the canonical event table and every file format it is read from and written to.

One module per job, so a change has one place to go:

- :mod:`sed.events.table`: the event table (``filename, onset, offset, event_label, score``,
  seconds), :func:`event_table`, and the one rounding rule of every file written
  (:func:`round_seconds`);
- :mod:`sed.events.writers`: the formats written (:data:`FORMATS`: CSV, TSV, Audacity, Raven,
  JSON), :func:`write_events`, the durations table;
- :mod:`sed.events.readers`: reading any layout the DCASE and bioacoustics tools write, guessed
  from the file (:func:`read_events`), and pairing recordings across files (:class:`EventSet`);
- :mod:`sed.events.score_tables`: the score tables of PSDS (``onset offset <label>...``);
- :mod:`sed.events.appender`: events appended one by one while they are found (``sed listen``).

Every public name is importable from here (``from sed.events import read_events``).
"""

from sed.events.appender import APPEND_CSV_COLUMNS, EventAppender, check_appendable
from sed.events.readers import (
    DELIMITERS,
    FILE_COLUMNS,
    FILE_OFFSET_COLUMN,
    LABEL_COLUMNS,
    MEAN_SCORE_COLUMNS,
    OFFSET_COLUMNS,
    ONSET_COLUMNS,
    SCORE_COLUMNS,
    VERDICT_COLUMNS,
    VERDICTS,
    EventFile,
    EventSet,
    RecordingEvents,
    event_files,
    read_durations,
    read_event_set,
    read_events,
    read_events_json,
    read_events_table,
    read_file_pairs,
)
from sed.events.score_tables import (
    SCORES_SUFFIX,
    read_score_table,
    score_table,
    score_table_files,
    score_table_text,
    score_table_times,
    write_score_table,
)
from sed.events.table import (
    AUDACITY_DECIMALS,
    EVENT_COLUMNS,
    TIME_DECIMALS,
    event_table,
    round_seconds,
    seconds_text,
)
from sed.events.writers import (
    DEFAULT_FORMAT,
    FORMAT_SUFFIXES,
    FORMATS,
    RAVEN_BAND_HZ,
    RAVEN_COLUMNS,
    check_format,
    check_scores_suffix,
    events_audacity,
    events_csv,
    events_json,
    events_raven,
    events_tsv,
    format_events,
    format_of_suffix,
    format_paths,
    output_formats,
    write_durations_tsv,
    write_events,
    write_events_csv,
    write_events_tsv,
)

__all__ = [
    "APPEND_CSV_COLUMNS",
    "AUDACITY_DECIMALS",
    "DEFAULT_FORMAT",
    "DELIMITERS",
    "EVENT_COLUMNS",
    "FILE_COLUMNS",
    "FILE_OFFSET_COLUMN",
    "FORMATS",
    "FORMAT_SUFFIXES",
    "LABEL_COLUMNS",
    "MEAN_SCORE_COLUMNS",
    "OFFSET_COLUMNS",
    "ONSET_COLUMNS",
    "RAVEN_BAND_HZ",
    "RAVEN_COLUMNS",
    "SCORES_SUFFIX",
    "SCORE_COLUMNS",
    "TIME_DECIMALS",
    "VERDICTS",
    "VERDICT_COLUMNS",
    "EventAppender",
    "EventFile",
    "EventSet",
    "RecordingEvents",
    "check_appendable",
    "check_format",
    "event_files",
    "event_table",
    "events_audacity",
    "events_csv",
    "events_json",
    "events_raven",
    "events_tsv",
    "format_events",
    "format_paths",
    "format_of_suffix",
    "output_formats",
    "check_scores_suffix",
    "read_durations",
    "read_event_set",
    "read_events",
    "read_events_json",
    "read_events_table",
    "read_file_pairs",
    "read_score_table",
    "round_seconds",
    "score_table",
    "score_table_files",
    "score_table_text",
    "score_table_times",
    "seconds_text",
    "write_durations_tsv",
    "write_events",
    "write_events_csv",
    "write_events_tsv",
    "write_score_table",
]
