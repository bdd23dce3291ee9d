"""`emulator.app.create_app`, kept at its old path: the application lives in `emulator/http/app.py`."""

from .http.app import create_app

__all__ = ["create_app"]
