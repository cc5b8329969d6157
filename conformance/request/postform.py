"""POST Object (browser-based upload): multipart/form-data with a SigV4-signed policy."""
from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from urllib3.filepost import encode_multipart_formdata

from . import signing


@dataclass
class Form:
    body: bytes
    content_type: str
    fields: list[tuple[str, str]]


def build_form(bucket: str, fields: dict[str, str], file_data: bytes, policy: Any, keys: signing.Keys | None,
               region: str, now: dt.datetime | None = None, expires_in: int | None = None,
               corrupt_signature: bool = False) -> Form:
    """policy: "auto" (allow exactly the fields sent), "none" (no policy, anonymous form) or
    {"conditions": [...], "expiration": iso}. The file part goes last, as S3 requires. `expires_in`: the
    policy's expiration in seconds from `now` (default one hour; negative: already expired).
    `corrupt_signature`: x-amz-signature with its last hex digit changed."""
    now = now or dt.datetime.now(dt.UTC)
    sent = [(name, str(value)) for name, value in fields.items()]
    if policy != "none" and keys is not None:
        date = now.strftime("%Y%m%d")
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        credential = f"{keys.access_key}/{date}/{region}/s3/aws4_request"
        auth_fields = [("x-amz-algorithm", "AWS4-HMAC-SHA256"), ("x-amz-credential", credential),
                       ("x-amz-date", amz_date)]
        names = {name.lower() for name, _ in sent}
        auth_fields = [(n, v) for n, v in auth_fields if n not in names]
        lifetime = dt.timedelta(hours=1) if expires_in is None else dt.timedelta(seconds=expires_in)
        expiration = (now + lifetime).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        if policy == "auto":
            conditions: list[Any] = [{"bucket": bucket}]
            conditions += [{name: value} for name, value in sent + auth_fields
                           if name.lower() not in ("policy", "x-amz-signature", "file")]
            document = {"expiration": expiration, "conditions": conditions}
        else:
            given = policy.get("expiration") if expires_in is None else None
            document = {"expiration": given or expiration, "conditions": policy["conditions"]}
        policy_b64 = base64.b64encode(json.dumps(document).encode()).decode()
        signature = signing.derive_signature(keys, region, amz_date, policy_b64)
        if corrupt_signature:
            signature = signature[:-1] + ("0" if signature[-1] != "0" else "1")
        sent = sent + auth_fields + [("policy", policy_b64), ("x-amz-signature", signature)]
    parts: list[Any] = list(sent) + [("file", ("upload.bin", file_data, "application/octet-stream"))]
    body, content_type = encode_multipart_formdata(parts)
    return Form(body, content_type, sent)
