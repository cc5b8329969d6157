"""Runs the case suite against moto's ThreadedMotoServer on 127.0.0.1 (tox -e moto).

moto is not a reference implementation: its deviations come out as failed cases in the report. The
script fails only when the run itself could not happen (exit code 2 from the runner)."""
from __future__ import annotations

import argparse
import sys

from moto.server import ThreadedMotoServer

from conformance import cli

# moto accepts any credentials; two distinct key pairs keep main and alt requests apart.
MAIN = ("AKIAMOTOMAIN00000001", "moto/main/secret/key/0000000000000000001")
ALT = ("AKIAMOTOALT000000002", "moto/alt/secret/key/00000000000000000002")


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--report-dir", default="reports/moto")
    parser.add_argument("--profile", default="aws")
    parser.add_argument("--cases", default="cases")
    parser.add_argument("-n", "--jobs", default="2")
    args, extra = parser.parse_known_args(argv)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        code = cli.main(["run", "--endpoint", endpoint, "--access-key", MAIN[0], "--secret-key", MAIN[1],
                         "--alt-access-key", ALT[0], "--alt-secret-key", ALT[1],
                         "--account-id", "123456789012", "--alt-account-id", "123456789012",
                         "--profile", args.profile, "--cases", args.cases, "--report-dir", args.report_dir,
                         "--report-name", "moto", "--capability", "kms-admin", "-n", args.jobs, *extra])
    finally:
        server.stop()
    return 0 if code in (0, 1) else code


if __name__ == "__main__":
    sys.exit(run())
