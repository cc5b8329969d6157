"""pytest plugin (pytest11 entry point). Must stay importable at all times: every pytest run loads it."""
