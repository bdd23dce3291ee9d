"""The world the emulator starts from and keeps: fixture files (`fixtures.py`), isolated copies
of it (`sandboxes.py`) and its persistence across runs (`state.py`: `--state` and `--autosave`)."""
