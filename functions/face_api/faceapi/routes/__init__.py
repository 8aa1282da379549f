"""Powertools Routers of the customer API; each route declares its policy operation once (`requires`)."""

from __future__ import annotations

from faceapi.routes import account, chosen_face, collections, faces, photos, search, stateless, users

ROUTERS = (collections.router, faces.router, search.router, users.router, stateless.router, account.router,
           photos.router, chosen_face.router)
