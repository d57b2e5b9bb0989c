"""``python -m linesight.cli``: the same as the ``linesight`` command."""

from linesight.cli import main

raise SystemExit(main())
