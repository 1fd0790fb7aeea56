"""Fake upstream model servers for tests and benchmarks: real loopback HTTP servers speaking each provider's
wire format."""
