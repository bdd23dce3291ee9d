"""Provider-neutral simulation core: models, store, clock, billing, text, phone numbers, webhooks.

Nothing in this package knows HTTP, Starlette or either provider's wire format.
"""
