"""The seven.io API (`/api`): API-key auth, JSON or form requests, JSON or plain-text answers
with seven's numeric return codes."""
