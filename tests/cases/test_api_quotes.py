"""Quotes from AWS API reference pages are verbatim: the operation and data-type pages (API_<Name>.html) are
generated from the same documentation strings as botocore's S3 model, so a quote from such a page must appear in
the model's documentation of that operation (its input/output members and errors) or that data type.

The model differs from the rendered page only in markup and in spelling "AWS" as "Amazon Web Services"; both are
normalized away. Text the page renders from the model's structure rather than its prose (enumerations, response
codes, XML syntax) is listed in RENDERED with the model fact it comes from."""
from __future__ import annotations

import html
import re

import pytest
import yaml

from .conftest import case_file_paths

API_PAGE = re.compile(r"^https://docs\.aws\.amazon\.com/AmazonS3/latest/API/API_([A-Za-z0-9]+)\.html$")
INLINE_TAGS = re.compile(r"</?(code|i|b|a|em|strong)(\s[^>]*)?>")
# Page text generated from the model's structure, not its documentation strings: (page name, quote) -> why.
RENDERED = {
    ("DeleteBucketEncryption", "HTTP/1.1 204"): "http.responseCode 204 of the operation",
    ("BlockedEncryptionTypes", "Valid Values: NONE | SSE-C"): "enum of the EncryptionType shape",
    ("GetBucketEncryption", "<ServerSideEncryptionConfiguration>"): "root element of the response syntax",
}


def _normalize(text: str) -> str:
    text = INLINE_TAGS.sub("", text)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    text = text.replace("Amazon Web Services", "AWS").replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"\s+([,.;:)])", r"\1", text).strip()


@pytest.fixture(scope="module")
def model():
    import botocore.loaders
    return botocore.loaders.Loader().load_service_model("s3", "service-2")


def _shape_docs(model, name: str, seen: set[str]) -> list[str]:
    if name in seen:
        return []
    seen.add(name)
    shape = model["shapes"][name]
    docs = [shape.get("documentation", "")]
    for member in shape.get("members", {}).values():
        docs.append(member.get("documentation", ""))
        docs += _shape_docs(model, member["shape"], seen)
    if "member" in shape:
        docs += _shape_docs(model, shape["member"]["shape"], seen)
    return docs


def _page_text(model, name: str) -> str | None:
    if name in model["operations"]:
        op = model["operations"][name]
        docs, seen = [op.get("documentation", "")], set()
        for part in ("input", "output"):
            if part in op:
                docs += _shape_docs(model, op[part]["shape"], seen)
        for error in op.get("errors", []):
            docs += _shape_docs(model, error["shape"], seen)
    elif name in model["shapes"]:
        docs = _shape_docs(model, name, set())
    else:
        return None
    return _normalize(" \n ".join(docs))


def _api_quotes():
    for path in case_file_paths():
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            match = API_PAGE.match(case["source"]["document"])
            if match:
                yield pytest.param(match.group(1), case["source"]["quote"], id=case["id"])


@pytest.mark.parametrize(("page", "quote"), list(_api_quotes()))
def test_api_reference_quote_is_in_the_model(model, page, quote):
    if (page, quote) in RENDERED:
        return
    text = _page_text(model, page)
    assert text is not None, f"API_{page}.html has no operation or data type of that name in botocore's model"
    assert _normalize(quote) in text, f"quote not found in the documentation of {page}"
