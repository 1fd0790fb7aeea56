"""The three deadlines every upstream call observes, kept separate because each guards a different failure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UpstreamTimeouts:
    """Deadlines in seconds for one upstream call.

    `connect` bounds opening the TCP (and TLS) connection; `first_byte` bounds everything from sending the
    request to the first byte of the answer (the response headers and, for streams, the first event), which is
    where a model does its thinking; `idle` bounds every later gap between chunks. A slow first token is normal
    and a silent stream after it is not, so one total deadline would be too short for one or too long for the
    other. Invariant: all three are positive.
    """

    connect: float = 5.0
    first_byte: float = 60.0
    idle: float = 60.0

    def __post_init__(self) -> None:
        if min(self.connect, self.first_byte, self.idle) <= 0:
            raise ValueError("upstream timeouts must be positive")
