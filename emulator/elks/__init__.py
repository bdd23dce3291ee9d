"""The 46elks API (`/a1`): HTTP Basic auth, form-encoded requests, JSON answers, plain-text errors."""
