"""This repository's auth/server tests use the same fixture users import (with the echo app: see
test_server_runner.py for the real app's fixture use in tests/clients)."""
