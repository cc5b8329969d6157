"""The s3-conformance case corpus, installed as the package `conformance_cases` (see setup.py). It holds
data only: YAML cases, `_coverage.yaml` and the vendored evidence under `_evidence/`."""
