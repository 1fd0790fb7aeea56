"""Persistence: backend-neutral protocols (`base`) and their implementations."""
