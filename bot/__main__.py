"""``python -m bot`` is the same as ``halo-bot``."""

from bot.core.cli import main

raise SystemExit(main())
