"""The view lives in the URL so that a shared link reopens the same view.

Each view declares its parameters (its URL scheme) with these kinds; values
from the URL are checked against what the store actually holds, anything
unusable is dropped and named in a notice, and defaults are left out when the
state is written back, so links stay short. Pure: no streamlit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs
from typing import Any, Sequence

MAX_PARAM_LENGTH = 2000   # longer values are a tampered or broken link, not a view
MAX_SHOWN = 60            # how much of an ignored value a notice repeats


def _shorten(text: str) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."


@dataclass
class Choice:
    """One value from a fixed list (endpoint, grade band, sort order)."""
    options: Sequence[str]
    default: str
    aliases: dict[str, str] = field(default_factory=dict)

    def parse(self, raw: str) -> tuple[Any, list[str]]:
        value = raw.strip()
        lookup = {o.lower(): o for o in self.options}
        lookup.update({k.lower(): v for k, v in self.aliases.items()})
        if value.lower() in lookup:
            return lookup[value.lower()], []
        return self.default, [value]

    def encode(self, value) -> str | None:
        return None if value == self.default else str(value)


@dataclass
class Many:
    """Several values from a list, comma-separated in the URL (arms, studies)."""
    options: Sequence[str]
    default: Sequence[str]

    def parse(self, raw: str) -> tuple[Any, list[str]]:
        allowed = {o.lower(): o for o in self.options}
        kept, ignored = [], []
        for part in raw.split(","):
            part = part.strip()
            if not part:
                continue
            if part.lower() in allowed:
                if allowed[part.lower()] not in kept:
                    kept.append(allowed[part.lower()])
            else:
                ignored.append(part)
        if not kept:
            return list(self.default), ignored
        return kept, ignored

    def encode(self, value) -> str | None:
        value = list(value)
        return None if value == list(self.default) else ",".join(value)


@dataclass
class Flag:
    """On/off (presentation mode): '1'/'0'."""
    default: bool = False

    def parse(self, raw: str) -> tuple[Any, list[str]]:
        v = raw.strip().lower()
        if v in ("1", "true", "yes", "on"):
            return True, []
        if v in ("0", "false", "no", "off", ""):
            return False, []
        return self.default, [raw]

    def encode(self, value) -> str | None:
        return None if bool(value) == self.default else ("1" if value else "0")


@dataclass
class Profile:
    """A patient profile (evidence.fit): 'age:72,ecog:1,child_pugh:A6'; default: none (empty).

    Its notices are full sentences already (which field, which value, what is known)."""
    default: dict = field(default_factory=dict)
    full_notices = True

    def parse(self, raw: str) -> tuple[Any, list[str]]:
        from evidence.fit import parse_profile
        profile, notices = parse_profile(raw)
        return profile, [n.rstrip(".") for n in notices]

    def encode(self, value) -> str | None:
        from evidence.fit import format_profile
        return format_profile(value or {}) or None


def parse_params(query: dict[str, Any], spec: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Read a page's parameters from a query mapping; pure, so it can be tested and fuzzed.

    query maps a parameter to a string or a list of strings (repeated keys);
    the last value of a repeated key wins. Returns the values (defaults where
    absent or unusable) and notices naming what was ignored.
    """
    values, notices = {}, []
    for name, kind in spec.items():
        default = list(kind.default) if isinstance(kind, Many) else (
            dict(kind.default) if isinstance(kind.default, dict) else kind.default)
        raw = query.get(name)
        if isinstance(raw, (list, tuple)):
            raw = raw[-1] if raw else None
        if raw is None:
            values[name] = default
            continue
        raw = str(raw)
        if len(raw) > MAX_PARAM_LENGTH:
            values[name] = default
            notices.append(f"'{name}' was too long ({len(raw)} characters) and was ignored")
            continue
        value, ignored = kind.parse(raw)
        values[name] = value
        if ignored and getattr(kind, "full_notices", False):
            notices.extend(ignored)
        elif ignored:
            shown = ", ".join(repr(_shorten(x)) for x in ignored)
            notices.append(f"'{name}': ignored {shown} (not in this view)")
    unknown = [k for k in query if k not in spec]
    if unknown:
        notices.append("ignored unknown link parameter(s): " + ", ".join(repr(_shorten(str(k))) for k in unknown[:5]))
    return values, notices


def encode_params(values: dict[str, Any], spec: dict[str, Any]) -> dict[str, str]:
    out = {}
    for name, kind in spec.items():
        if name in values:
            enc = kind.encode(values[name])
            if enc is not None:
                out[name] = enc
    return out


def canonical(query: dict[str, list[str]]) -> str:
    """One spelling of a query (sorted keys): a cache key and the test of 'is this the link we wrote'."""
    return "&".join(f"{k}={','.join(v)}" for k, v in sorted(query.items()))


def parse_query_string(query: str | dict) -> dict[str, list[str]]:
    """'a=1&b=x,y' (with or without '?') as {key: [values]}; a mapping is passed through."""
    if isinstance(query, dict):
        return {k: (list(v) if isinstance(v, (list, tuple)) else [v]) for k, v in query.items()}
    return parse_qs(query.lstrip("?"), keep_blank_values=True, max_num_fields=100)
