"""The local stack: AWS stood in for by moto on 127.0.0.1, resources read from template.yaml."""
