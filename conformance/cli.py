"""Console script entry point (placeholder until the runner lands)."""
import sys


def main(argv: list[str] | None = None) -> int:
    print("s3-conformance: not built yet", file=sys.stderr)
    return 2
