"""The web inbox: a single page served at `/_emulator/ui` (see `emulator/control/ui.py`), built
on the control API and its live event stream. Plain HTML, CSS and JavaScript under `static/`,
shipped as package data: no build step, no CDN, works offline."""
