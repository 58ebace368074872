"""``python -m bot`` is the same as ``halo-bot``."""

from bot.cli import main

raise SystemExit(main())
