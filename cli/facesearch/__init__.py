"""facesearch: the command-line client, the local stack and the demo (none of it is deployed to Lambda).

- `client`: the HTTP client of the service (API key; SigV4-signed admin calls); imports requests and botocore only.
- `commands/`: the `facesearch` command groups (`cli.py` lists them); print tables, or JSON with --json.
- `local/`: the local stack (moto + an API Gateway v2 adapter + SQS pollers), built from template.yaml; imports
  the functions' handlers the way Lambda would, never their internals.
- `demo`: `make demo`, the story told through the client.
"""
