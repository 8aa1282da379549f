"""faceapi: the customer HTTP API behind functions/face_api/app.py.

models (pydantic request/response) · errors (exceptions -> status codes, the one place) · deps (engine,
store, vector index, policy gate, S3 client; once per container) · images (request image bytes) ·
search (the search use cases) · views (value types -> responses) · routes/ (Powertools Routers, glue).
Imports faceengine, facestore, facepolicy and Powertools; boto3 only in deps and images.
"""
