"""Constants shared by the runner tests (a uniquely named module: every test folder has its own conftest)."""
from pathlib import Path

DATA = Path(__file__).parent / "data"
MOTO_MAIN = ("AKIAMOTOMAIN00000001", "moto/main/secret/key/0000000000000000001")
