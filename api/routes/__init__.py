"""One router per resource; ``api/app.py`` mounts them under ``/v1``."""
