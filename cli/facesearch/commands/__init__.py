"""Command groups of the `facesearch` CLI; each module exposes `register(subparsers)`."""
