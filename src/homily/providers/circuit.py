"""A circuit breaker per upstream: stop sending traffic to an upstream that keeps failing, probe it now and
then."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import Enum

log = logging.getLogger("homily.providers.circuit")


class CircuitState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


CircuitListener = Callable[[str, CircuitState], None]
"""Told `(upstream, state)` when a breaker opens, or closes again, by itself."""


class CircuitBreaker:
    """Closed → open after `failure_threshold` consecutive failures; open → half-open after `reset_timeout`
    seconds; half-open admits `half_open_probes` trial calls, closing on a success and reopening on a failure.

    Invariant: O(1) state whatever the traffic. `is_available()` is a pure read (for the catalog's `available`
    flag and the router); `allow_request()` is what a caller asks before sending, and claims a probe slot when
    half-open. Only upstream faults count as failures (a client's bad request says nothing about the
    upstream's health).

    `on_change(name, state)` hears this breaker's own transitions to OPEN and back to CLOSED (replicas tell each
    other with it); `opened_elsewhere` and `closed_elsewhere` apply the same transitions heard from another process
    without telling anyone again.
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        half_open_probes: int = 1,
        clock: Callable[[], float] = time.monotonic,
        on_change: CircuitListener | None = None,
    ) -> None:
        if failure_threshold < 1 or half_open_probes < 1 or reset_timeout <= 0:
            raise ValueError("invalid circuit breaker settings")
        self.name = name
        self._on_change = on_change
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.half_open_probes = half_open_probes
        self._clock = clock
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probes_in_flight = 0

    @property
    def state(self) -> CircuitState:
        if self._state is CircuitState.OPEN and self._clock() - self._opened_at >= self.reset_timeout:
            return CircuitState.HALF_OPEN
        return self._state

    def is_available(self) -> bool:
        """Whether a request sent now could be admitted (closed, or half-open with a probe slot free)."""
        state = self.state
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.HALF_OPEN:
            return self._probes_in_flight < self.half_open_probes or self._state is CircuitState.OPEN
        return False

    def allow_request(self) -> bool:
        """Admit a call (claiming a half-open probe slot if needed); refuse it while open."""
        state = self.state
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.OPEN:
            return False
        if self._state is CircuitState.OPEN:
            self._state = CircuitState.HALF_OPEN
            self._probes_in_flight = 0
            log.info("circuit half-open", extra={"upstream": self.name})
        if self._probes_in_flight >= self.half_open_probes:
            return False
        self._probes_in_flight += 1
        return True

    def record_success(self) -> None:
        reopened = self._state is not CircuitState.CLOSED
        self._close()
        if reopened:
            log.info("circuit closed", extra={"upstream": self.name})
            self._tell(CircuitState.CLOSED)

    def record_failure(self) -> None:
        if self._state is CircuitState.HALF_OPEN:
            self._open()
            return
        self._failures += 1
        if self._state is CircuitState.CLOSED and self._failures >= self.failure_threshold:
            self._open()

    def release_probe(self) -> None:
        """Give back a half-open probe slot whose call ended without telling anything about health (e.g.
        cancelled)."""
        if self._state is CircuitState.HALF_OPEN and self._probes_in_flight:
            self._probes_in_flight -= 1

    def opened_elsewhere(self, seconds_ago: float) -> None:
        """Another replica opened its circuit `seconds_ago`: stop sending here too, and probe when it would."""
        opened_at = self._clock() - min(max(seconds_ago, 0.0), self.reset_timeout)
        if self._state is CircuitState.OPEN and opened_at <= self._opened_at:
            return
        if self._state is CircuitState.CLOSED:
            log.warning("circuit open (another replica saw the failures)", extra={"upstream": self.name})
        self._state = CircuitState.OPEN
        self._opened_at = opened_at
        self._probes_in_flight = 0
        self._failures = 0

    def closed_elsewhere(self) -> None:
        """Another replica's call succeeded: the upstream answers again."""
        if self._state is not CircuitState.CLOSED:
            log.info("circuit closed (another replica's call succeeded)", extra={"upstream": self.name})
            self._close()

    def _close(self) -> None:
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._probes_in_flight = 0

    def _open(self) -> None:
        log.warning("circuit open", extra={"upstream": self.name, "failures": self._failures})
        self._state = CircuitState.OPEN
        self._opened_at = self._clock()
        self._probes_in_flight = 0
        self._failures = 0
        self._tell(CircuitState.OPEN)

    def _tell(self, state: CircuitState) -> None:
        if self._on_change is not None:
            self._on_change(self.name, state)


class CircuitBreakers:
    """One `CircuitBreaker` per upstream (provider name), created on first use with shared settings.

    Bounded by the number of configured upstreams. `is_available` fits `catalog.availability.Availability(healthy=)`
    so an open circuit shows as `available: false` in the catalog and keeps the router away from that upstream.
    `on_change` is handed to every breaker (see `CircuitBreaker`).
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        half_open_probes: int = 1,
        clock: Callable[[], float] = time.monotonic,
        on_change: CircuitListener | None = None,
    ) -> None:
        self._settings = (failure_threshold, reset_timeout, half_open_probes)
        self._clock = clock
        self._on_change = on_change
        self._breakers: dict[str, CircuitBreaker] = {}

    def get(self, upstream: str) -> CircuitBreaker:
        breaker = self._breakers.get(upstream)
        if breaker is None:
            threshold, reset, probes = self._settings
            breaker = CircuitBreaker(
                upstream,
                failure_threshold=threshold,
                reset_timeout=reset,
                half_open_probes=probes,
                clock=self._clock,
                on_change=self._on_change,
            )
            self._breakers[upstream] = breaker
        return breaker

    def is_available(self, upstream: str) -> bool:
        breaker = self._breakers.get(upstream)
        return breaker is None or breaker.is_available()
