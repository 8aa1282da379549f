"""Suite-wide safety: no test can reach real AWS, and Powertools runs without X-Ray or a namespace gap."""

from __future__ import annotations

import os

for _key, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "FaceSearch",
    "POWERTOOLS_SERVICE_NAME": "facesearch",
}.items():
    os.environ[_key] = _value
os.environ.pop("AWS_PROFILE", None)
