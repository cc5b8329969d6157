import pytest

from conformance.casefile.templating import TemplateError, Variables, render, render_string

VARS = Variables({"bucket": "b-1", "sse_kms": "aws:kms", "kms": {"k1": {"arn": "arn:aws:kms:r:1:key/x"}},
                  "steps": {"put": {"etag": '"e"'}}, "flag": True})


def test_dotted_and_plain_names():
    assert render_string("${bucket}/${kms.k1.arn}/${steps.put.etag}", VARS, "w") == 'b-1/arn:aws:kms:r:1:key/x/"e"'
    assert render_string("${flag}", VARS, "w") == "true"


def test_dollar_rules_regex_friendly():
    assert render_string("^(false)$", VARS, "w") == "^(false)$"
    assert render_string("$$${bucket}", VARS, "w") == "$b-1"
    assert render_string("cost $5 {not a var}", VARS, "w") == "cost $5 {not a var}"


def test_unknown_variable_names_the_case_and_step():
    with pytest.raises(TemplateError) as info:
        render_string("${kms.k2.arn}", VARS, "case c.one step put")
    assert str(info.value).startswith("case c.one step put: unknown variable ${kms.k2.arn}")
    assert "kms.k1.arn" in str(info.value)            # nearby names are suggested
    with pytest.raises(TemplateError, match="unknown variable"):
        render_string("${kms.k1}", VARS, "w")          # a mapping is not a value
    with pytest.raises(TemplateError, match="malformed placeholder"):
        render_string("${not valid}", VARS, "w")


def test_render_walks_structures_and_leaves_other_scalars():
    spec = {"bucket": "${bucket}", "headers": {"x-amz-server-side-encryption": "${sse_kms}"}, "status": 200,
            "list": ["${bucket}", 1]}
    assert render(spec, VARS, "w") == {"bucket": "b-1", "headers": {"x-amz-server-side-encryption": "aws:kms"},
                                       "status": 200, "list": ["b-1", 1]}


def test_braces_in_json_bodies_survive():
    assert render_string('{"a": {"b": "${bucket}"}}', VARS, "w") == '{"a": {"b": "b-1"}}'
