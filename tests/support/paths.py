"""Where things are: the project root and the recorded Halo answers."""

from pathlib import Path

#: The project root (the folder with pyproject.toml).
ROOT = Path(__file__).resolve().parents[2]
#: ``tests/``.
TESTS = ROOT / "tests"
#: The recorded Halo answers the fake Halo serves (MIT, see LICENSE-SPNKr there).
HALO_FIXTURES = TESTS / "fixtures" / "halo"
