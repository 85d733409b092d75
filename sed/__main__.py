"""``python -m sed``: the same as the ``sed`` command."""

from sed.cli import main

if __name__ == "__main__":
    main()
