"""Transparent HTTPS mode: the proxy that answers for the providers' real hosts (`transparent.py`)
and its local certificate authority (`ca.py`)."""
