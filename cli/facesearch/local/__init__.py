"""The local stack: the deployment of template.yaml on 127.0.0.1, with moto standing in for AWS.

- `template`: parse template.yaml; provision its tables, buckets (notifications) and queues (redrive) in moto.
- `functions`, `runtime`: load a function's handler from CodeUri/Handler; a Lambda context; one warm container each.
- `httpapi`: API Gateway HTTP API (payload 2.0): routes from the HttpApi events, Lambda authorizer (simple
  responses), AWS_IAM (SigV4 with the local admin key) and NONE routes, the gateway's own 401/403/404/500.
- `poller`: Lambda's SQS event source mapping (batch size, window, partial batch responses, DLQ via redrive).
- `s3events`: the S3 notifications moto omits (versionId, sequencer, ObjectRemoved on versioned buckets).
- `faults`: the storm mode (`--faults`): throttled/failing AWS calls, crashing batches, a registry outage.
- `stack`: `LocalStack`, all of the above in one process; `serve`: `facesearch local serve`;
  `process`: a stack in a child process (the demo and the e2e tests).
"""
