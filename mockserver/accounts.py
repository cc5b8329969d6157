"""The accounts the mock server knows: each has its own access key, secret and account id."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Account:
    name: str          # "main" | "alt"
    access_key: str
    secret_key: str
    account_id: str


MAIN = Account("main", "AKIAMOCKMAIN00000001", "mock/main/secret/key/00000000000000000001", "111122223333")
ALT = Account("alt", "AKIAMOCKALT000000002", "mock/alt/secret/key/000000000000000000002", "444455556666")


class Accounts:
    def __init__(self, accounts: list[Account]) -> None:
        self._by_key = {a.access_key: a for a in accounts}
        self._by_name = {a.name: a for a in accounts}

    def by_access_key(self, access_key: str) -> Account | None:
        return self._by_key.get(access_key)

    def __iter__(self):
        return iter(self._by_name.values())
