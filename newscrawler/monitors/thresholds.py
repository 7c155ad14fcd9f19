"""Health thresholds: the defaults are `NEWSCRAWLER_HEALTH` in newscrawler/settings.py; the Scrapy setting of
the same name overrides them for every portal, a profile's `[health]` table for one portal (same keys)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from newscrawler import settings as project_settings

# The article fields whose coverage is watched; "byline" is authors or editor.
COVERAGE_FIELDS = ("headline", "datePublished", "source", "byline")


class ThresholdError(ValueError):
    """A threshold is unknown or has a wrong value; `key` names it (e.g. `min_coverage.source`)."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class Thresholds:
    history_runs: int
    min_history_runs: int
    min_articles: int
    new_articles_ratio: float
    min_new_baseline: int
    min_new_articles: int
    coverage_drop: float
    min_coverage: Mapping[str, float]
    body_chars_ratio: float
    min_body_chars: int
    selector_min_match: float
    max_error_rate: float
    error_rate_margin: float
    schema_sample: int

    @classmethod
    def default(cls) -> Thresholds:
        return cls(**project_settings.NEWSCRAWLER_HEALTH)

    def merged(self, overrides: Mapping[str, Any] | None) -> Thresholds:
        """These thresholds with some replaced (checked: a ThresholdError names a bad key or value)."""
        if not overrides:
            return self
        values = check(overrides)
        if "min_coverage" in values:  # floors are set field by field: the others keep theirs
            values["min_coverage"] = {**self.min_coverage, **values["min_coverage"]}
        return dataclasses.replace(self, **values)


# Fractions live in [0, 1]; counts are whole numbers ≥ 0 (history_runs and min_history_runs ≥ 1).
_FRACTIONS = {"new_articles_ratio", "coverage_drop", "body_chars_ratio", "selector_min_match", "max_error_rate",
              "error_rate_margin"}
_AT_LEAST_ONE = {"history_runs", "min_history_runs"}


def check(values: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides, checked against the thresholds' names and types; raises ThresholdError naming the key."""
    fields = {f.name: f for f in dataclasses.fields(Thresholds)}
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            raise ThresholdError(key, f"unknown health threshold; known: {', '.join(fields)}")
        if key == "min_coverage":
            out[key] = _coverage_floors(value)
        elif key in _FRACTIONS:
            out[key] = _fraction(key, value)
        else:
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if key in _AT_LEAST_ONE else 0):
                raise ThresholdError(key, f"must be a whole number ≥ {1 if key in _AT_LEAST_ONE else 0}, got {value!r}")
            out[key] = value
    return out


def _fraction(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ThresholdError(key, f"must be a number from 0 to 1, got {value!r}")
    return float(value)


def _coverage_floors(value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise ThresholdError("min_coverage", f"must be a table of field = fraction, got {value!r}")
    floors = {}
    for name, floor in value.items():
        if name not in COVERAGE_FIELDS:
            raise ThresholdError(f"min_coverage.{name}", f"unknown field; known: {', '.join(COVERAGE_FIELDS)}")
        floors[name] = _fraction(f"min_coverage.{name}", floor)
    return floors
