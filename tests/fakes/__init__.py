"""Fakes of the services the bot talks to, for tests (in-process or as a subprocess)."""
