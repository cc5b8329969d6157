"""The encryption data path: request bodies streamed into encrypted blobs and stored blobs back out as plaintext,
with the keys and encryptors sse/service.py plans (WritePlan, ObjectKeys).

- workers: the thread pool both directions run their blocking work on;
- ingest: a body through digests and the encryptor into a blob writer;
- write: a whole object (or one multipart part) stored from a body, verified before it is committed;
- plaintext: stored parts decrypted back into plaintext, inline or streamed one batch ahead;
- bodies: small request bodies (XML documents) read whole and checked against their integrity headers.
"""
