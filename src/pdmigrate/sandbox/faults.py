"""Fault injection for the sandbox: latency, 5xx, lost responses, fail-Nth-write.

A :class:`FaultSpec` says which faults to inject; it comes from ``--faults SPEC`` or
is built in Python. The SPEC syntax is comma-separated ``key=value`` parts:

============================  =============================================================
``seed=7``                    seed of every random choice (default 0)
``latency=120+-40``           latency in ms: mean 120, uniform jitter of ±40 (``±`` works
                              too); ``latency=120`` has no jitter
``5xx=0.05``                  share of requests answered 500/502/503 before the handler
                              runs (nothing is written); ``5xx=5%`` is the same
``5xx-codes=500/503``         the statuses ``5xx`` picks from (default 500/502/503)
``lost=0.02``                 share of successful writes whose response is lost after
                              the write was committed (client sees a timeout)
``lost-delay=30``             seconds a lost response is held over real HTTP (default 30)
``fail-nth-write=25``         the 25th write (POST/PUT/PATCH) gets a 500 and is not
                              written; ``fail-nth-write=3/10/25`` fails several
``cloudflare=on|off``         whether a token ignoring 429s gets Cloudflare's HTML 403
                              (default on)
============================  =============================================================

Example: ``seed=7,latency=120+-40,5xx=0.05,lost=0.02,fail-nth-write=25,lost-delay=30``.
An empty SPEC, ``none`` or ``off`` means no faults.

:class:`FaultInjector` applies a spec. It is deterministic: each kind of fault draws
from its own random stream seeded from ``seed``, so the same seed and the same
sequence of requests give the same faults, whatever the other streams did. It is
thread-safe, counts what it injected (:attr:`FaultInjector.counters`) and can be
switched at run time (:meth:`FaultInjector.set`).
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from pdmigrate.errors import UsageError
from pdmigrate.sandbox.clock import Clock

FaultKind = Literal["5xx", "fail-nth-write"]

_ERROR_INFO = "Please check developers.pipedrive.com"
_MESSAGES = {
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    504: "Gateway timeout",
}
_KEYS = (
    "seed",
    "latency",
    "5xx",
    "5xx-codes",
    "lost",
    "lost-delay",
    "fail-nth-write",
    "cloudflare",
)
_NUMBER = r"\d+(?:\.\d+)?"
_LATENCY = re.compile(rf"^({_NUMBER})(?:\s*(?:\+-|±|\+/-)\s*({_NUMBER}))?$")


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """Which faults to inject. All off by default; see the module docstring for the syntax."""

    seed: int = 0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    lost_rate: float = 0.0
    lost_delay_s: float = 30.0
    fail_nth_write: tuple[int, ...] = ()
    cloudflare: bool = True

    def __post_init__(self) -> None:
        for name in ("error_rate", "lost_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise UsageError(f"fault spec: {name} must be between 0 and 1, not {value}")
        for name in ("latency_ms", "jitter_ms", "lost_delay_s"):
            if getattr(self, name) < 0:
                raise UsageError(f"fault spec: {name} must not be negative")
        if self.jitter_ms > self.latency_ms:
            raise UsageError("fault spec: latency jitter must not exceed the mean")
        if not self.error_statuses or any(s not in _MESSAGES for s in self.error_statuses):
            raise UsageError(
                f"fault spec: error_statuses must be some of {'/'.join(map(str, _MESSAGES))}"
            )
        if any(n < 1 for n in self.fail_nth_write):
            raise UsageError("fault spec: fail_nth_write counts writes from 1")

    @classmethod
    def parse(cls, text: str | None) -> FaultSpec:
        """Parse a ``--faults`` string; a UsageError names the bad part."""
        if text is None or text.strip().lower() in ("", "none", "off"):
            return cls()
        values: dict[str, Any] = {}
        seen: set[str] = set()
        for raw in text.split(","):
            part = raw.strip()
            if not part:
                continue
            key, sep, value = part.partition("=")
            key, value = key.strip().lower(), value.strip()
            if not sep or not value:
                raise UsageError(f"--faults: bad part {part!r}: expected key=value")
            if key not in _KEYS:
                raise UsageError(
                    f"--faults: unknown key {key!r} in {part!r}; known keys: {', '.join(_KEYS)}"
                )
            if key in seen:
                raise UsageError(f"--faults: {key!r} given twice")
            seen.add(key)
            try:
                values.update(_parse_value(key, value))
            except ValueError as exc:
                raise UsageError(f"--faults: bad part {part!r}: {exc}") from None
        try:
            return cls(**values)
        except UsageError as exc:
            raise UsageError(f"--faults {text!r}: {exc.message}") from None

    def __str__(self) -> str:
        """The spec in ``--faults`` syntax; ``FaultSpec.parse(str(spec)) == spec``."""
        parts = [f"seed={self.seed}"]
        if self.latency_ms or self.jitter_ms:
            lat = _num(self.latency_ms)
            parts.append(
                f"latency={lat}+-{_num(self.jitter_ms)}" if self.jitter_ms else f"latency={lat}"
            )
        if self.error_rate:
            parts.append(f"5xx={_num(self.error_rate)}")
        if self.error_statuses != (500, 502, 503):
            parts.append("5xx-codes=" + "/".join(map(str, self.error_statuses)))
        if self.lost_rate:
            parts.append(f"lost={_num(self.lost_rate)}")
        if self.lost_delay_s != 30.0:
            parts.append(f"lost-delay={_num(self.lost_delay_s)}")
        if self.fail_nth_write:
            parts.append("fail-nth-write=" + "/".join(map(str, self.fail_nth_write)))
        if not self.cloudflare:
            parts.append("cloudflare=off")
        return ",".join(parts)

    def with_base_latency(self, latency_ms: float) -> FaultSpec:
        """This spec with ``latency_ms`` as the mean if the spec sets no latency itself.

        For ``--latency-ms N``: the mean comes from there unless ``--faults`` has ``latency=``.
        """
        if self.latency_ms or not latency_ms:
            return self
        return replace(self, latency_ms=float(latency_ms))


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _rate(value: str) -> float:
    try:
        rate = float(value[:-1]) / 100 if value.endswith("%") else float(value)
    except ValueError:
        raise ValueError(
            "expected a share between 0 and 1, like 0.05, or a percentage like 5%"
        ) from None
    if not 0.0 <= rate <= 1.0:
        raise ValueError("a share must be between 0 and 1 (or 0% and 100%)")
    return rate


def _parse_value(key: str, value: str) -> dict[str, Any]:
    """One ``key=value`` part -> FaultSpec field values; ValueError says what is wrong."""
    if key == "seed":
        if not re.fullmatch(r"-?\d+", value):
            raise ValueError("seed must be an integer")
        return {"seed": int(value)}
    if key == "latency":
        m = _LATENCY.match(value)
        if m is None:
            raise ValueError("expected milliseconds like 120 or 120+-40")
        mean, jitter = float(m.group(1)), float(m.group(2) or 0)
        if jitter > mean:
            raise ValueError("jitter must not exceed the mean")
        return {"latency_ms": mean, "jitter_ms": jitter}
    if key == "5xx":
        return {"error_rate": _rate(value)}
    if key == "5xx-codes":
        codes = value.split("/")
        if not all(c.isdigit() and int(c) in _MESSAGES for c in codes):
            raise ValueError(f"codes must be some of {'/'.join(map(str, _MESSAGES))}")
        return {"error_statuses": tuple(int(c) for c in codes)}
    if key == "lost":
        return {"lost_rate": _rate(value)}
    if key == "lost-delay":
        if not re.fullmatch(_NUMBER, value):
            raise ValueError("expected seconds, like 30 or 2.5")
        return {"lost_delay_s": float(value)}
    if key == "fail-nth-write":
        counts = value.split("/")
        if not all(c.isdigit() and int(c) >= 1 for c in counts):
            raise ValueError("expected write numbers from 1, like 25 or 3/10/25")
        return {"fail_nth_write": tuple(sorted({int(c) for c in counts}))}
    # cloudflare
    if value.lower() not in ("on", "off"):
        raise ValueError("expected on or off")
    return {"cloudflare": value.lower() == "on"}


@dataclass(frozen=True, slots=True)
class FaultAction:
    """An injected error response: send ``status`` with the JSON ``body`` instead of running."""

    status: int
    body: dict[str, Any]
    kind: FaultKind
    headers: dict[str, str] = field(default_factory=dict)


def _error_action(status: int, kind: FaultKind) -> FaultAction:
    body = {
        "success": False,
        "error": _MESSAGES[status],
        "error_info": _ERROR_INFO,
        "data": None,
        "additional_data": None,
    }
    return FaultAction(status=status, body=body, kind=kind)


COUNTER_NAMES = ("requests", "writes", "latency", "5xx", "fail-nth-write", "lost")


class FaultInjector:
    """Applies a :class:`FaultSpec` to the sandbox's requests; deterministic under its seed.

    The sandbox calls :meth:`latency_s` and :meth:`before_request` for each admitted
    request and :meth:`after_commit` after each successful write.
    """

    def __init__(self, spec: FaultSpec | str | None = None, clock: Clock | None = None) -> None:
        # ``clock`` is accepted so the sandbox can hand over its clock; no fault is
        # time-based yet (latency is returned, the caller sleeps).
        self.clock = clock
        self._lock = threading.Lock()
        self._spec = FaultSpec()
        self._counters = dict.fromkeys(COUNTER_NAMES, 0)
        self._reseed(self._coerce(spec))

    @staticmethod
    def _coerce(spec: FaultSpec | str | None) -> FaultSpec:
        return spec if isinstance(spec, FaultSpec) else FaultSpec.parse(spec)

    def _reseed(self, spec: FaultSpec) -> None:
        self._spec = spec
        self._latency_rng = random.Random(f"{spec.seed}/latency")
        self._error_rng = random.Random(f"{spec.seed}/5xx")
        self._lost_rng = random.Random(f"{spec.seed}/lost")
        self._writes = 0

    @property
    def spec(self) -> FaultSpec:
        """The spec in force."""
        with self._lock:
            return self._spec

    @property
    def lost_delay_s(self) -> float:
        """How long a lost response is held over real HTTP."""
        return self.spec.lost_delay_s

    def set(self, spec: FaultSpec | str | None = None, **changes: Any) -> FaultSpec:
        """Switch faults at run time, e.g. ``set(error_rate=0.05, lost_rate=0.02)``.

        A whole ``spec`` (or SPEC string), or a changed ``seed``, restarts the random
        streams and the write count; other changes keep them. Counters are kept
        (:meth:`reset_counters` clears them). Returns the spec now in force.
        """
        with self._lock:
            base = self._spec if spec is None else self._coerce(spec)
            names = {f.name for f in fields(FaultSpec)}
            unknown = set(changes) - names
            if unknown:
                raise TypeError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
            new = replace(base, **changes)
            if spec is not None or new.seed != self._spec.seed:
                self._reseed(new)
            else:
                self._spec = new
            return new

    @property
    def counters(self) -> dict[str, int]:
        """How many requests and writes were seen and how many faults of each kind injected."""
        with self._lock:
            return dict(self._counters)

    def reset_counters(self) -> None:
        """Set every counter back to 0."""
        with self._lock:
            self._counters = dict.fromkeys(COUNTER_NAMES, 0)

    def latency_s(self) -> float:
        """Seconds to delay this request: uniform in mean ± jitter, 0 when latency is off."""
        with self._lock:
            spec = self._spec
            if not spec.latency_ms:
                return 0.0
            ms = spec.latency_ms
            if spec.jitter_ms:
                ms += self._latency_rng.uniform(-spec.jitter_ms, spec.jitter_ms)
            self._counters["latency"] += 1
            return max(0.0, ms) / 1000.0

    def before_request(self, method: str, path: str, is_write: bool) -> FaultAction | None:
        """An error to answer instead of running the request, or None to run it.

        ``is_write`` (POST/PUT/PATCH) requests are numbered from 1 for ``fail-nth-write``.
        Every request draws from the 5xx stream, so decisions depend only on the order.
        """
        with self._lock:
            spec = self._spec
            self._counters["requests"] += 1
            roll = self._error_rng.random()
            pick = self._error_rng.randrange(len(spec.error_statuses))
            if is_write:
                self._writes += 1
                self._counters["writes"] += 1
                if self._writes in spec.fail_nth_write:
                    self._counters["fail-nth-write"] += 1
                    return _error_action(500, "fail-nth-write")
            if roll < spec.error_rate:
                self._counters["5xx"] += 1
                return _error_action(spec.error_statuses[pick], "5xx")
            return None

    def after_commit(self, method: str, is_write: bool) -> bool:
        """True if this committed write's response is to be lost (client sees a timeout)."""
        if not is_write:
            return False
        with self._lock:
            lost = self._lost_rng.random() < self._spec.lost_rate
            if lost:
                self._counters["lost"] += 1
            return lost
