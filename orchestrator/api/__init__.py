"""The REST API under /api/v1: one small module per resource on one APIBlueprint.

``orchestrator.api.app.init_api`` plugs it into the web admin's APIFlask app;
``orchestrator.api.auth.api_auth`` and ``orchestrator.api.listing`` are what a
resource module needs (see docs/api.md, "Adding a resource").
"""
