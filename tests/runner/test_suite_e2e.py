"""The real case corpus (cases/) end to end: against the built-in mock server in every shipped profile,
and against moto's server, where moto's deviations must come out as failed cases, never as crashes."""
from __future__ import annotations

import json
import re
from pathlib import Path

import botocore.session
import pytest
from runner_support import DATA, MOTO_MAIN

from conformance import cli
from conformance import profile as profiles
from conformance.casefile import loader

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "cases"
BASELINES = DATA / "mock-baselines"


def corpus_ids() -> set[str]:
    cases, problems = loader.load_cases([CASES])
    assert not problems, "\n".join(map(str, problems))
    return {c.id for c in cases}


@pytest.mark.parametrize("profile", profiles.shipped_profiles())
def test_corpus_against_the_mock_server(profile, tmp_path, capsys):
    """Gate: every case passes against the reference server. Should a disagreement ever have to be accepted
    for a while, list it in data/mock-baselines/<profile>.json (`--update-baseline` writes one): the run
    then fails only on new failures and prints the cases that pass again."""
    expected_ids = corpus_ids()
    baseline = BASELINES / f"{profile}.json"
    args = ["run", "--profile", profile, "--cases", str(CASES), "--report-dir", str(tmp_path), "-n", "2"]
    if baseline.exists():
        args += ["--baseline", str(baseline)]
    code = cli.main(args)
    out = capsys.readouterr().out
    report = json.loads((tmp_path / f"{profile}.json").read_text())
    assert {c["id"] for c in report["cases"]} == expected_ids
    errors = [(c["id"], c["reason"]) for c in report["cases"] if c["outcome"] == "error"]
    assert not errors, errors
    assert not [(c["id"], c["teardown_problems"]) for c in report["cases"] if c["teardown_problems"]]
    assert code == 0, out[-4000:]
    assert report["summary"]["passed"] > 0


def test_corpus_against_moto(moto_endpoint, tmp_path, capsys):
    expected_ids = corpus_ids()
    code = cli.main(["run", "--endpoint", moto_endpoint, "--access-key", MOTO_MAIN[0], "--secret-key", MOTO_MAIN[1],
                     "--alt-access-key", "AKIAMOTOALT000000002", "--alt-secret-key", "moto/alt/secret/key/2",
                     "--profile", "aws", "--capability", "kms-admin", "--cases", str(CASES),
                     "--report-dir", str(tmp_path), "--report-name", "moto", "--bucket-prefix", "moto-e2e", "-n", "2"])
    out = capsys.readouterr().out
    assert code == 1, "moto is expected to deviate from AWS somewhere"
    report = json.loads((tmp_path / "moto.json").read_text())
    assert {c["id"] for c in report["cases"]} == expected_ids
    outcomes = [c["outcome"] for c in report["cases"]]
    assert "error" not in outcomes, [(c["id"], c["reason"]) for c in report["cases"] if c["outcome"] == "error"]
    assert outcomes.count("failed") > 0 and outcomes.count("passed") > 0
    assert out.splitlines()[-1] == (f"{outcomes.count('passed')} passed, {outcomes.count('failed')} failed, "
                                    f"{outcomes.count('na')} not applicable, {outcomes.count('warning')} warnings")
    s3 = botocore.session.get_session().create_client(
        "s3", endpoint_url=moto_endpoint, region_name="us-east-1", aws_access_key_id=MOTO_MAIN[0],
        aws_secret_access_key=MOTO_MAIN[1])
    assert not [b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("moto-e2e")]


def test_pytest_plugin_with_the_built_in_server_per_worker(tmp_path):
    """`pytest cases/ -n 2` without --s3-endpoint: each xdist worker starts its own mock server."""
    import subprocess
    import sys

    profile = profiles.load_profile("aws-2023").adjusted(add=profiles.ENDPOINT_CAPABILITIES_BUILTIN)
    selected = [c for c in loader.load_cases([CASES])[0] if "sse-c" in c.tags]
    applicable = [c for c in selected if all(profile.has(r) for r in c.implied_requirements())]
    run = subprocess.run([sys.executable, "-m", "pytest", str(CASES), "-n", "2", "-q", "-p", "no:cacheprovider",
                          "--rootdir", str(ROOT), "--s3-select", "tag:sse-c", "--s3-profile", "aws-2023"],
                         capture_output=True, text=True, check=False, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    last = run.stdout.strip().splitlines()[-1]
    skipped = len(selected) - len(applicable)
    assert last.startswith(f"{len(applicable)} passed" + (f", {skipped} skipped" if skipped else "")), last
    # Each worker's target (its own built-in server) reaches the controller's summary.
    summary = run.stdout.split("s3-conformance target", 1)[1]
    assert len(re.findall(r"profile aws-2023, endpoint https?://127\.0\.0\.1:", summary)) == 2, summary
