"""Case files: every problem as `path:line: message`, duplicate ids with both locations, exit code 2."""
import subprocess
import sys
import textwrap

from conformance import cli
from conformance.casefile import loader

VALID = """\
cases:
  - id: demo.one
    title: Demo
    operation: GetObject
    source: {document: seeds/aws-put-bucket-encryption-api-reference.txt, quote: "q"}
    steps:
      - request: {method: GET, bucket: "${bucket}", key: k}
        expect: {status: 404}
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(*paths):
    cases, problems = loader.load_cases([str(p) for p in paths])
    return cases, [str(p) for p in problems]


def test_valid_file_loads(tmp_path):
    cases, problems = problems_of(write(tmp_path, "a.yaml", VALID))
    assert problems == [] and [c.id for c in cases] == ["demo.one"]
    assert cases[0].line == 2 and [step.line for step in cases[0].steps] == [7]


def test_schema_error_points_at_the_line(tmp_path):
    path = write(tmp_path, "a.yaml", VALID.replace("status: 404", "status: four-oh-four"))
    _, problems = problems_of(path)
    assert problems == [f"{path}:8: cases/0/steps/0/expect/status: 'four-oh-four' is not of type 'integer'"]


def test_unknown_key_and_missing_field(tmp_path):
    path = write(tmp_path, "a.yaml", VALID.replace("    title: Demo\n", "").replace("key: k}", "key: k, colour: red}"))
    _, problems = problems_of(path)
    assert f"{path}:2: cases/0: 'title' is a required property" in problems
    assert any(p.startswith(f"{path}:6: cases/0/steps/0/request: Additional properties") for p in problems)


def test_yaml_syntax_error_has_a_line(tmp_path):
    path = write(tmp_path, "a.yaml", VALID.replace("title: Demo", "title: [unclosed"))
    _, problems = problems_of(path)
    assert len(problems) == 1 and problems[0].startswith(f"{path}:4: YAML syntax error")


def test_duplicate_yaml_key(tmp_path):
    path = write(tmp_path, "a.yaml", VALID.replace("    title: Demo\n", "    title: Demo\n    title: Again\n"))
    _, problems = problems_of(path)
    assert f"{path}:4: duplicate key 'title' (first at line 3)" in problems


def test_duplicate_ids_across_files_name_both_places(tmp_path):
    first = write(tmp_path, "a.yaml", VALID)
    second = write(tmp_path, "b.yaml", VALID)
    cases, problems = problems_of(first, second)
    assert len(cases) == 1
    assert problems == [f"{second}:2: duplicate case id 'demo.one' (also defined at {first}:2)"]


def test_references_to_undefined_steps_objects_keys(tmp_path):
    text = VALID.replace('key: k}', 'key: "${steps.later.etag}", body: {object: nope}}') \
        .replace("expect: {status: 404}", "expect: {body: {same_as: {step: put}}}")
    path = write(tmp_path, "a.yaml", text)
    _, problems = problems_of(path)
    assert any("refers to an undefined step 'later'" in p and p.startswith(f"{path}:7:") for p in problems)
    assert any("undefined fixture object 'nope'" in p for p in problems)
    assert any("same_as refers to step 'put', which does not come earlier" in p for p in problems)


def test_validate_command_exit_code_2_without_traceback(tmp_path):
    path = write(tmp_path, "bad.yaml", VALID.replace("method: GET", "method: FETCH"))
    run = subprocess.run([sys.executable, "-m", "conformance.cli", "validate", str(path)], check=False,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert f"{path}:7: cases/0/steps/0/request/method: 'FETCH' is not one of" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout


def test_validate_ok_and_missing_path(tmp_path, capsys):
    assert cli.main(["validate", str(write(tmp_path, "a.yaml", VALID))]) == 0
    assert cli.main(["validate", str(tmp_path / "nope")]) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_shipped_profiles_and_schema_are_valid():
    from conformance import profile as profiles

    for name in profiles.shipped_profiles():
        assert profiles.load_profile(name).name == name


def test_bad_profile_reported_with_line(tmp_path):
    from conformance import profile as profiles

    path = write(tmp_path, "p.yaml", "name: x\nregion: us-east-1\ncapabilities: [kms, 7]\naddressing: sideways\n")
    try:
        profiles.load_profile(str(path))
    except profiles.ProfileError as exc:
        assert any(p.startswith(f"{path}:3:") for p in exc.problems)
        assert any(p.startswith(f"{path}:4: addressing:") for p in exc.problems)
    else:
        raise AssertionError("invalid profile accepted")
