"""Bad case files and profiles: every class gives `path:line: what is wrong` and exit code 2, never a traceback."""
from __future__ import annotations

import pytest

from conformance import cli, engine
from conformance import profile as profiles
from conformance.casefile import loader
from conformance.request import signing
from conformance.target import Target

BASE = """\
cases:
  - id: demo.one
    title: Demo
    operation: PutObject
    source: {document: seeds/x.txt, quote: "q"}
    fixtures:
      objects:
        - {name: src, key: src-key, body: "hello"}
    steps:
      - name: put
        request:
          method: PUT
          bucket: "${bucket}"
          key: k
          body: {text: "hi"}
        expect:
          status: 200
        capture:
          etag: {header: ETag}
"""
BASE_LINES = BASE.splitlines()


def insert_after(line: int, *new: str) -> str:
    """BASE with `new` lines after 1-based line `line` (so the first new line is line + 1)."""
    return "\n".join(BASE_LINES[:line] + list(new) + BASE_LINES[line:]) + "\n"


def replace_line(line: int, new: str) -> str:
    return "\n".join(BASE_LINES[:line - 1] + [new] + BASE_LINES[line:]) + "\n"


def second_step(*request_and_expect: str) -> str:
    """BASE plus a step `get` (line 20 onwards) whose extra lines start at line 23."""
    return BASE + "\n".join(["      - name: get", "        request:", "          method: GET",
                             *request_and_expect]) + "\n"


def validate(capsys, *paths) -> tuple[int, str]:
    code = cli.main(["validate", *[str(p) for p in paths]])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, captured.err


def assert_reported(capsys, path, line, fragment):
    code, err = validate(capsys, path)
    assert code == 2, err
    prefix = f"{path}:{line}: " if line else f"{path}: "
    assert any(row.startswith(prefix) and fragment in row for row in err.splitlines()), err


def test_base_is_valid(tmp_path, capsys):
    path = tmp_path / "ok.yaml"
    path.write_text(BASE)
    assert validate(capsys, path)[0] == 0


# (file text, line, fragment of the message)
SYNTAX = {
    "unclosed-flow": (replace_line(3, "    title: [unclosed"), 4, "YAML syntax error"),
    "tab-indent": (replace_line(3, "\ttitle: Demo"), 3, "'\\t'"),
    "bad-indent": (replace_line(4, "      operation: PutObject"), 4, "YAML syntax error"),
    "two-documents": (BASE + "---\ncases: []\n", 20, "YAML syntax error"),
    "undefined-alias": (replace_line(3, "    title: *nothing"), 3, "YAML"),
}
STRUCTURE = {
    "top-level-list": ("- a\n- b\n", 1, "top level must be a mapping"),
    "top-level-scalar": ("just text\n", 1, "top level must be a mapping"),
    "cases-not-list": ("cases: {id: a}\n", 1, "cases: {'id': 'a'} is not of type 'array'"),
    "cases-empty": ("cases: []\n", 1, "should be non-empty"),
    "case-not-mapping": ("cases:\n  - just-a-string\n", 2, "is not of type 'object'"),
    "empty-file": ("", 1, "empty file"),
    "a-profile": ("name: vendor\nregion: us-east-1\ncapabilities: []\n", 1, "looks like a profile"),
    "comments-only": ("# nothing here\n", 1, "empty file"),
    "null-document": ("---\n...\n", 1, "empty file"),
    "python-tag": ("cases:\n  - !!python/object:os.system {}\n", 2, "could not determine a constructor"),
    "deep-nesting": ("cases: " + "[" * 3000 + "]" * 3000 + "\n", 1, "nested too deeply"),
    "self-alias": ("cases: &a [*a]\n", 1, "an alias that contains itself"),
    "billion-laughs": ("a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True))
        + "cases: [*i]\n", 1, "more than 200000 YAML nodes"),
}
UNKNOWN_KEYS = {
    "top": (BASE + "extra: 1\n", 1, "'extra' was unexpected"),
    "case": (insert_after(3, "    colour: red"), 2, "'colour' was unexpected"),
    "source": (replace_line(5, '    source: {document: seeds/x.txt, quote: "q", page: 3}'), 5, "'page' was unexpected"),
    "fixtures": (insert_after(6, "      buckets: 2"), 6, "'buckets' was unexpected"),
    "fixture-object": (replace_line(8, '        - {name: src, key: src-key, body: "hello", acl: x}'), 8,
                       "'acl' was unexpected"),
    "kms-key": (insert_after(6, "      kms_keys: [{name: k1, usage: x}]"), 7, "'usage' was unexpected"),
    "step": (insert_after(10, "        retries: 3"), 10, "'retries' was unexpected"),
    "request": (insert_after(14, "          verb: GET"), 11, "'verb' was unexpected"),
    "checksum": (insert_after(14, "          checksum: {algorithm: crc32, when: always}"), 15,
                 "'when' was unexpected"),
    "form": (insert_after(14, "          form: {fields: {}, files: []}"), 15, "'files' was unexpected"),
    "expect": (insert_after(17, "          stauts: 200"), 16, "'stauts' was unexpected"),
    "error": (insert_after(17, "          error: {code: X, mesage: y}"), 18, "'mesage' was unexpected"),
    "headers": (insert_after(17, "          headers: {equals: {a: b}}"), 18, "'equals' was unexpected"),
    "xml-item": (insert_after(17, "          xml: [{path: Rule, equal: x, regex: y}]"), 18, "'regex' was unexpected"),
    "body-expect": (insert_after(17, "          body: {same: x}"), 18, "'same' was unexpected"),
    "capture-item": (replace_line(19, "          etag: {header: ETag, default: x}"), 19, "'default' was unexpected"),
    "variant": (insert_after(17, "        variants: [{when: {has: kms}, expect: {}, note: x}]"), 18,
                "'note' was unexpected"),
    "when": (insert_after(17, "        variants: [{when: {hass: kms}, expect: {}}]"), 18, "'hass' was unexpected"),
    "kms-calls-operation": (insert_after(17, "          kms_calls: {key: k, GenerateDataKye: 1}"), 18,
                            "'GenerateDataKye' is not a KMS operation"),
}
WRONG_TYPES = {
    "id-number": (replace_line(2, "  - id: 7"), 2, "7 is not of type 'string'"),
    "id-pattern": (replace_line(2, "  - id: Demo One"), 2, "does not match"),
    "tags-string": (insert_after(3, "    tags: sse"), 4, "'sse' is not of type 'array'"),
    "steps-mapping": ("\n".join(BASE_LINES[:8] + ["    steps: {name: put}"]) + "\n", 9,
                      "{'name': 'put'} is not of type 'array'"),
    "method": (replace_line(12, "          method: FETCH"), 12, "'FETCH' is not one of"),
    "query-list": (insert_after(14, "          query: [a]"), 15, "['a'] is not of type 'object'"),
    "headers-list": (insert_after(14, "          headers: [a]"), 15, "is not of type 'object'"),
    "body-number": (replace_line(15, "          body: 5"), 15, "body: 5 is not of type"),
    "status-string": (replace_line(17, "          status: ok"), 17, "status: 'ok' is not of type 'integer'"),
    "xml-not-list": (insert_after(17, "          xml: {path: Rule}"), 18, "is not of type 'array'"),
    "capture-string": (replace_line(19, "          etag: ETag"), 19, "'ETag' is not of type 'object'"),
    "extra-buckets-string": (insert_after(6, "      extra_buckets: two"), 7, "'two' is not of type 'integer'"),
    "payload-mode": (insert_after(14, "          payload: streaming"), 15, "'streaming' is not one of"),
    "auth-mode": (insert_after(14, "          auth: root"), 15, "'root' is not one of"),
}
DUPLICATE_KEYS = {
    "case-level": (insert_after(3, "    title: Again"), 4, "duplicate key 'title' (first at line 3)"),
    "request-level": (insert_after(14, "          key: k2"), 15, "duplicate key 'key' (first at line 14)"),
    "top-level": (BASE + "cases: []\n", 20, "duplicate key 'cases' (first at line 1)"),
}
REFERENCES = {
    "undefined-step": (second_step('          key: "${steps.later.etag}"'), 23, "undefined step 'later'"),
    "undefined-capture": (second_step('          key: "${steps.put.vid}"'), 23, "captures no 'vid'"),
    "own-capture": (replace_line(14, '          key: "${steps.put.etag}"'), 14, "undefined step 'put'"),
    "undefined-kms-key": (replace_line(14, '          key: "${kms.k9.arn}"'), 14, "undefined KMS key"),
    "kms-field": (insert_after(6, "      kms_keys: [{name: k1}]").replace("key: k\n", 'key: "${kms.k1.colour}"\n'),
                  15, "unknown field 'colour'"),
    "undefined-object": (replace_line(14, '          key: "${objects.nope.etag}"'), 14, "undefined fixture object"),
    "bucket2-without-extra": (replace_line(14, '          key: "${bucket2}"'), 14, "not a bucket of this case"),
    "ssec-key": (replace_line(14, '          key: "${ssec.key9.key}"'), 14, "undefined SSE-C key 'key9'"),
    "mapping-not-leaf": (replace_line(14, '          key: "${ssec.key1}"'), 14, "must be ${ssec.NAME.FIELD}"),
    "malformed": (replace_line(14, '          key: "${bucket"'), 14, "malformed placeholder"),
    "profile-var-nobody-defines": (replace_line(14, '          key: "${no_such_var}"'), 14,
                                   "unknown variable ${no_such_var}"),
    "vars-prefix": (replace_line(14, '          key: "${vars.no_such}"'), 14, "unknown variable ${no_such}"),
    "in-expect": (insert_after(17, '          headers: {equal: {ETag: "${steps.nope.x}"}}'), 18, "undefined step"),
    "in-fixture": (replace_line(8, '        - {name: src, key: "${objects.src.key}", body: "hello"}'), 8,
                   "refers to an undefined fixture object (fixtures.objects) 'src' (known: none defined)"),
    "body-object": (replace_line(15, "          body: {object: nope}"), 15, "undefined fixture object 'nope'"),
}
PATTERNS = {
    "message-match": (insert_after(17, '          error: {message_match: "([a"}'), 18, "invalid regular expression"),
    "header-match": (insert_after(17, '          headers: {match: {ETag: "*x"}}'), 18, "nothing to repeat"),
    "xml-match": (insert_after(17, '          xml: [{path: Rule, match: "(?P<"}]'), 18, "invalid regular expression"),
    "xml-predicate": (insert_after(17, "          xml: [{path: 'Rule[1]', equal: x}]"), 18, "invalid XML path"),
    "xml-double-slash": (insert_after(17, "          xml: [{path: 'Rule//Id', equal: x}]"), 18, "invalid XML path"),
    "xml-leading-slash": (insert_after(17, "          xml: [{path: /Rule, equal: x}]"), 18, "invalid XML path"),
    "xml-wildcard": (insert_after(17, "          xml: [{path: 'Rule/*', count: 1}]"), 18, "invalid XML path"),
    "capture-xml": (replace_line(19, "          etag: {xml: '@ETag'}"), 19, "invalid XML path"),
    "base64": (replace_line(15, "          body: {base64: 'not base64!'}"), 15, "not valid base64"),
}
ALL = {f"{group}:{name}": spec for group, table in (
    ("syntax", SYNTAX), ("structure", STRUCTURE), ("unknown-key", UNKNOWN_KEYS), ("type", WRONG_TYPES),
    ("duplicate-key", DUPLICATE_KEYS), ("reference", REFERENCES), ("pattern", PATTERNS)) for name, spec in table.items()}


@pytest.mark.parametrize("label", sorted(ALL))
def test_bad_case_file_is_located(label, tmp_path, capsys):
    text, line, fragment = ALL[label]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert_reported(capsys, path, line, fragment)


def test_placeholders_that_resolve_are_accepted(tmp_path, capsys):
    text = insert_after(6, "      kms_keys: [{name: k1}]", "      extra_buckets: 1").replace(
        "key: k\n", 'key: "${kms.k1.arn}/${bucket2}/${objects.src.md5_b64}/${ssec.short.md5}/${region}/$${x}"\n'
    ) + """\
      - name: get
        request:
          method: GET
          key: "${steps.put.etag}-${sse_kms}-${vars.sse_s3}"
        expect: {error: {message_match: '^${re_invalid_config}$'}}
"""
    path = tmp_path / "ok.yaml"
    path.write_text(text)
    code, err = validate(capsys, path)
    assert code == 0, err


@pytest.mark.parametrize("content", [b"\xff\xfe\x00\x01binary", b"cases:\n  - id: caf\xe9\n"], ids=["binary", "latin-1"])
def test_non_utf8_file(content, tmp_path, capsys):
    path = tmp_path / "bin.yaml"
    path.write_bytes(content)
    assert_reported(capsys, path, content[:content.find(b"\xff") if b"\xff" in content else 0].count(b"\n") + 1
                    if b"\xff" in content else 2, "not UTF-8 text")


def test_nul_byte_file(tmp_path, capsys):
    path = tmp_path / "nul.yaml"
    path.write_bytes(b"cases:\n\x00\n")
    assert_reported(capsys, path, 2, "binary file")


def test_duplicate_ids_in_one_file(tmp_path, capsys):
    case = BASE_LINES[1:]
    path = tmp_path / "dup.yaml"
    path.write_text("\n".join(BASE_LINES + case) + "\n")
    assert_reported(capsys, path, 20, "duplicate case id 'demo.one' (also defined at")


def test_duplicate_ids_across_files(tmp_path, capsys):
    (tmp_path / "a.yaml").write_text(BASE)
    (tmp_path / "b.yaml").write_text(BASE)
    code, err = validate(capsys, tmp_path)
    assert code == 2
    assert f"{tmp_path / 'b.yaml'}:2: duplicate case id 'demo.one' (also defined at {tmp_path / 'a.yaml'}:2)" in err


def test_directory_without_cases(tmp_path, capsys):
    (tmp_path / "_data.yaml").write_text("x: 1\n")
    (tmp_path / "notes.txt").write_text("x")
    assert_reported(capsys, tmp_path, 0, "directory holds no case files")


def test_nonexistent_cases_path_in_run(tmp_path, capsys):
    code = cli.main(["run", "--cases", str(tmp_path / "nope"), "--report-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and f"{tmp_path / 'nope'}: no such file or directory" in err


def test_unreadable_path_is_a_problem(tmp_path, capsys):
    (tmp_path / "dir.yaml").mkdir()          # a directory named like a case file, given explicitly
    (tmp_path / "dir.yaml" / "x.yaml").write_text(BASE)
    code, err = validate(capsys, tmp_path / "dir.yaml")
    assert code == 0, err                     # a directory is scanned, whatever its name


PROFILE = "name: vendor\nregion: us-east-1\ncapabilities: [kms]\nvars: {sse_kms: aws:kms}\n"
BAD_PROFILES = {
    "syntax": (PROFILE.replace("[kms]", "[kms"), 4, "YAML syntax error"),
    "tab": (PROFILE.replace("region", "\tregion"), 2, "'\\t'"),
    "not-mapping": ("- kms\n", 1, "is not of type 'object'"),
    "unknown-key": (PROFILE + "colour: red\n", 1, "'colour' was unexpected"),
    "wrong-type": (PROFILE.replace("[kms]", "kms"), 3, "'kms' is not of type 'array'"),
    "duplicate-key": (PROFILE + "region: eu-west-1\n", 5, "duplicate key 'region' (first at line 2)"),
    "missing-field": ("name: vendor\ncapabilities: []\n", 1, "'region' is a required property"),
    "empty": ("", 1, "empty file"),
    "var-list": (PROFILE.replace("{sse_kms: aws:kms}", "{sse_kms: [a]}"), 4, "is not of type"),
}


@pytest.mark.parametrize("label", sorted(BAD_PROFILES))
def test_bad_profile_is_located(label, tmp_path, capsys):
    text, line, fragment = BAD_PROFILES[label]
    profile = tmp_path / "vendor.yaml"
    profile.write_text(text)
    cases = tmp_path / "c.yaml"
    cases.write_text(BASE)
    for argv in (["validate", str(cases), "--profile", str(profile)],
                 ["run", "--cases", str(cases), "--profile", str(profile), "--report-dir", str(tmp_path)]):
        code = cli.main(argv)
        captured = capsys.readouterr()
        assert code == 2 and "Traceback" not in captured.err
        assert any(r.startswith(f"{profile}:{line}: ") and fragment in r for r in captured.err.splitlines()), \
            captured.err


def test_binary_profile(tmp_path, capsys):
    profile = tmp_path / "vendor.yaml"
    profile.write_bytes(b"\xff\xfe\x00")
    code = cli.main(["list", "--cases", str(tmp_path), "--profile", str(profile)])
    assert code == 2 and f"{profile}" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["nosuch", "./missing.yaml", "aws.yml"])
def test_unknown_profile_name(name, tmp_path, capsys):
    (tmp_path / "c.yaml").write_text(BASE)
    assert cli.main(["list", "--cases", str(tmp_path), "--profile", name]) == 2
    err = capsys.readouterr().err
    assert "no such profile" in err and "shipped: aws" in err


RUNTIME_PROBLEMS = {
    # a var some profile defines but the run's profile lacks
    "profile-var": ('          key: "${sse_kms}"', "unknown variable ${sse_kms}"),
    "non-latin-1-header": ('          key: k\n          headers: {x-amz-meta-name: "\U0001F600"}',
                           "header 'x-amz-meta-name': the value holds"),
    "alt-without-keys": ("          key: k\n          auth: alt", "auth: alt needs the second account's keys"),
}


@pytest.mark.parametrize("label", sorted(RUNTIME_PROBLEMS))
def test_case_that_cannot_be_built_fails_naming_the_step(label, tmp_path):
    """What only the run can know: the case fails (not `error`), the reason names the step, nothing is sent."""
    line, fragment = RUNTIME_PROBLEMS[label]
    text = replace_line(14, line).replace("    fixtures:\n      objects:\n"
                                          '        - {name: src, key: src-key, body: "hello"}\n',
                                          "    fixtures: {bucket: false}\n")
    path = tmp_path / "c.yaml"
    path.write_text(text.replace('bucket: "${bucket}"', "bucket: b"))
    cases, problems = loader.load_cases([path])
    assert not problems
    bare = profiles.Profile(name="bare", region="us-east-1", capabilities=frozenset({"multi-account"}))
    target = Target("http://127.0.0.1:9", "us-east-1", signing.Keys("AKIAX", "secretsecret"))
    result = engine.Engine(target, bare).run_case(cases[0])
    assert result.outcome.value == "failed"
    assert result.reason.startswith("step put: cannot build the request:") and fragment in result.reason, result.reason
    assert result.steps[0].exchange is None        # nothing was sent


def test_runner_bug_while_checking_requirements_is_an_error_result(tmp_path, monkeypatch):
    """A bug in the requirement check (profile, capabilities) becomes that case's `error` with the traceback in its
    reason, like a bug in its steps: the run goes on, no traceback escapes to the CLI."""
    path = tmp_path / "c.yaml"
    path.write_text(BASE)
    cases, problems = loader.load_cases([path])
    assert not problems

    class BrokenProfile(profiles.Profile):
        def has(self, capability: str) -> bool:
            raise RuntimeError("profile bug")

    monkeypatch.setattr(type(cases[0]), "implied_requirements", lambda self: ["kms"])
    broken = BrokenProfile(name="broken", region="us-east-1", capabilities=frozenset())
    target = Target("http://127.0.0.1:9", "us-east-1", signing.Keys("AKIAX", "secretsecret"))
    result = engine.Engine(target, broken).run_case(cases[0])
    assert result.outcome.value == "error"
    assert "runner error" in result.reason and "profile bug" in result.reason
