"""Request building and sending: bodies, integrity values, signing, aws-chunked framing, POST forms, the
request builder, and the HTTP transport."""
