"""Fake upstream providers: real loopback HTTP servers speaking a provider's wire format, for tests.

Import from the provider module, e.g. `from homily.fakes.openai_upstream import FakeOpenAIUpstream, Behaviour`
(this package imports nothing so `python -m homily.fakes.openai_upstream` runs cleanly).
"""
