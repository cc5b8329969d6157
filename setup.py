"""Package layout (the rest of the metadata is in pyproject.toml).

The case corpus stays at the repository root in `cases/` and ships inside the wheel as the package
`conformance_cases` (cases, `_coverage.yaml`, `_evidence/**`), found at run time through
`importlib.resources` (see conformance/corpus.py), never relative to the working directory."""
from setuptools import find_namespace_packages, setup

setup(
    # namespace discovery: a sub-package without __init__.py (e.g. mockserver/storage) must ship too
    packages=find_namespace_packages(include=["conformance", "conformance.*", "mockserver", "mockserver.*"],
                                     exclude=["*.__pycache__"])
    + ["conformance_cases"],
    package_dir={"conformance_cases": "cases"},
    include_package_data=False,   # package_data below is the whole list (no MANIFEST-driven data)
    package_data={
        "conformance": ["schema/*.json", "profiles/*.yaml", "clients/drivers/*.cjs"],
        "conformance_cases": ["*.yaml", "*.md", "**/*.yaml", "**/*.yml", "_evidence/*", "_evidence/**/*"],
    },
)
