"""Write the table of docs/reliability.md from tests/reliability_cases.py.

    uv run python scripts/reliability_table.py

The cases are run by ``tests/test_reliability.py`` (and the tests they name), which also checks
that the document holds exactly this table.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.reliability_cases import TABLE_END, TABLE_START, render_table  # noqa: E402


def main() -> None:
    document = ROOT / "docs" / "reliability.md"
    text = document.read_text(encoding="utf-8")
    start, end = text.index(TABLE_START), text.index(TABLE_END) + len(TABLE_END)
    document.write_text(text[:start] + render_table() + text[end:], encoding="utf-8")
    print(f"{document.relative_to(ROOT)}: table written")


if __name__ == "__main__":
    main()
