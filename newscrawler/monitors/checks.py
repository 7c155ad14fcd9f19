"""Each health check: one portal's numbers in this run against its own baseline and the thresholds.

Plain functions over plain data (no Scrapy, no database): `PortalRun` holds the run's numbers, the portal's
history (its last healthy runs of the same schedule, newest first) and thresholds; each check returns
results with the number, the baseline and the limit it was held to, so the run record, `db health` and the
alerts can say "0% vs a baseline of 100% (degraded below 70%)".

Baselines are medians over the history; with fewer than `min_history_runs` healthy runs a check falls back
to the absolute floors (a new portal, or one with a single run behind it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from statistics import median
from typing import Any

from newscrawler.monitors.thresholds import COVERAGE_FIELDS, Thresholds

OK, DEGRADED, FAILED, SKIPPED = "ok", "degraded", "failed", "skipped"
BROKEN = (DEGRADED, FAILED)
AS_LAST_JUDGED = "; as last judged: "


@dataclass
class CheckResult:
    check: str
    status: str
    message: str
    value: float | int | None = None
    baseline: float | int | None = None
    limit: float | int | None = None

    @property
    def broken(self) -> bool:
        return self.status in BROKEN

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class PortalRun:
    """One portal in one run: what the monitors judge, and what they found."""

    site: str
    metrics: dict[str, Any]
    thresholds: Thresholds
    history: Sequence[dict[str, Any]] = ()
    mode: str = "crawl"
    profile_path: str | None = None
    selectors: dict[str, str] = field(default_factory=dict)   # the profile's selectors
    selector_kinds: dict[str, str] = field(default_factory=dict)
    # The checks found broken when the portal was last judged (its state), by name: a check this run cannot
    # judge (too few articles, an import) keeps its last verdict rather than passing for a recovery.
    carried: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: list[CheckResult] = field(default_factory=list)

    def carry_over(self, results: list[CheckResult]) -> list[CheckResult]:
        """`results` with each skipped one replaced by the broken checks it covers from the last verdict."""
        out = []
        for r in results:
            kept = [c for name, c in self.carried.items() if name == r.check or name.startswith(r.check + ".")]
            if r.status != SKIPPED or not kept:
                out.append(r)
                continue
            out.extend(CheckResult(c["check"], c["status"], f"not judged in this run ({r.message}){AS_LAST_JUDGED}"
                                   f"{c['message'].split(AS_LAST_JUDGED)[-1]}", value=c.get("value"),
                                   baseline=c.get("baseline"), limit=c.get("limit")) for c in kept)
        return out

    def baseline(self, value: Callable[[dict[str, Any]], float | int | None]) -> tuple[float | None, int]:
        """The median of a number over the history (runs where it was measured), and how many runs that is;
        None while fewer than min_history_runs runs have it."""
        values = [v for v in (value(h) for h in self.history) if v is not None]
        if len(values) < self.thresholds.min_history_runs:
            return None, len(values)
        return median(values), len(values)

    def judged_history(self, value: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        """`value` over the history's runs that had enough articles to be judged (others give None)."""
        least = self.thresholds.min_articles
        return lambda h: value(h) if (h.get("articles") or 0) >= least else None


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.0%}"


def _history_note(run: PortalRun, n: int) -> str:
    return f"{n} healthy run(s) of history, fewer than min_history_runs = {run.thresholds.min_history_runs}: " \
           f"absolute floors only"


def listing(run: PortalRun) -> list[CheckResult]:
    """Listing pages fetched, and article links on them matching the profile's pattern; none = failed."""
    m = run.metrics
    requested, pages, links = m["listingRequests"], m["listingPages"], m["articleLinks"]
    if not requested:
        return [CheckResult("listing", SKIPPED, "no listing page in this run (an import)")]
    if not pages:
        return [CheckResult("listing", FAILED, f"none of its {requested} listing page(s) could be fetched",
                            value=0, limit=1)]
    if not links:
        where = f" of {run.profile_path}" if run.profile_path else ""
        return [CheckResult("listing", FAILED,
                            f"no link on its {pages} listing page(s) matched article_url_pattern{where}; has the "
                            f"site's layout or URL scheme changed?", value=0, limit=1)]
    return [CheckResult("listing", OK, f"{links} article link(s) on {pages} listing page(s)", value=links)]


def new_articles(run: PortalRun) -> list[CheckResult]:
    """New articles against the median of the portal's recent healthy runs of the same schedule."""
    if run.mode == "import":
        return [CheckResult("new_articles", SKIPPED, "not judged for an import (what is new depends on the files)")]
    t, new = run.thresholds, run.metrics["new"]
    base, n = run.baseline(lambda h: h.get("new"))
    if new < t.min_new_articles:
        return [CheckResult("new_articles", DEGRADED, f"{new} new article(s), below the floor of {t.min_new_articles}",
                            value=new, baseline=base, limit=t.min_new_articles)]
    if base is None:
        return [CheckResult("new_articles", OK, f"{new} new article(s); {_history_note(run, n)}", value=new)]
    limit = t.new_articles_ratio * base
    if base >= t.min_new_baseline and new < limit:
        return [CheckResult("new_articles", DEGRADED, f"{new} new article(s) vs a median of {base:g} over its last "
                            f"{n} healthy runs (degraded below {limit:g})", value=new, baseline=base, limit=limit)]
    return [CheckResult("new_articles", OK, f"{new} new article(s) vs a median of {base:g}", value=new, baseline=base)]


def field_coverage(run: PortalRun) -> list[CheckResult]:
    """Share of the run's articles with headline, date, source, byline, and the median body length."""
    t, m = run.thresholds, run.metrics
    n = m["articles"]
    if n < t.min_articles:
        return [CheckResult("coverage", SKIPPED, f"{n} article(s) stored, fewer than min_articles = {t.min_articles}:"
                                                 f" coverage not judged", value=n)]
    results = []
    for name in COVERAGE_FIELDS:
        value = m["coverage"].get(name, 0.0)
        base, hn = run.baseline(run.judged_history(lambda h, name=name: (h.get("coverage") or {}).get(name)))
        limit = max(t.min_coverage.get(name, 0.0), base - t.coverage_drop if base is not None else 0.0)
        text = f"{name} on {_pct(value)} of {n} articles"
        text += f" vs a baseline of {_pct(base)}" if base is not None else f" ({_history_note(run, hn)})"
        if value < limit:
            results.append(CheckResult(f"coverage.{name}", DEGRADED, f"{text} (degraded below {_pct(limit)})",
                                       value=value, baseline=base, limit=round(limit, 4)))
        else:
            results.append(CheckResult(f"coverage.{name}", OK, text, value=value, baseline=base))
    chars = m["bodyChars"] or 0
    base, hn = run.baseline(run.judged_history(lambda h: h.get("bodyChars")))
    limit = max(t.min_body_chars, base * t.body_chars_ratio if base is not None else 0)
    text = f"median articleBody length {chars} characters" + (f" vs a baseline of {base:g}" if base is not None
                                                               else "")
    if chars < limit:
        results.append(CheckResult("coverage.articleBody", DEGRADED, f"{text} (degraded below {limit:g})",
                                   value=chars, baseline=base, limit=limit))
    else:
        results.append(CheckResult("coverage.articleBody", OK, text, value=chars, baseline=base))
    return results


def selectors(run: PortalRun) -> list[CheckResult]:
    """Each selector of the profile: on what share of the article pages it matched anything."""
    if not run.selectors:
        return []
    t, m = run.thresholds, run.metrics
    pages = m["extracted"]
    if pages < t.min_articles:
        return [CheckResult("selector", SKIPPED, f"{pages} article page(s) extracted, fewer than min_articles = "
                                                  f"{t.min_articles}: selectors not judged", value=pages)]
    results = []
    for name, selector in run.selectors.items():
        value = (m.get("selectors") or {}).get(name, 0.0)
        base, _ = run.baseline(run.judged_history(lambda h, name=name: (h.get("selectors") or {}).get(name, 0.0)))
        if base is None:
            # A continuation link is on few pages by nature: only its own history says what is normal.
            limit = 0.0 if run.selector_kinds.get(name) == "url" else t.selector_min_match
        else:
            limit = min(t.selector_min_match, base - t.coverage_drop)
        text = f"selector {name} = {selector!r} matched on {_pct(value)} of {pages} article pages"
        text += f" vs a baseline of {_pct(base)}" if base is not None else ""
        if value < limit:
            results.append(CheckResult(f"selector.{name}", DEGRADED, f"{text} (degraded below {_pct(limit)})",
                                       value=value, baseline=base, limit=round(limit, 4)))
        else:
            results.append(CheckResult(f"selector.{name}", OK, text, value=value, baseline=base))
    return results


def error_rate(run: PortalRun) -> list[CheckResult]:
    """Article pages that failed: HTTP errors, timeouts, extraction failures, items dropped (by reason)."""
    t, m = run.thresholds, run.metrics
    attempts, rate = m["attempts"], m["errorRate"]
    if attempts < t.min_articles:
        return [CheckResult("error_rate", SKIPPED, f"{attempts} article page(s), fewer than min_articles = "
                                                   f"{t.min_articles}: error rate not judged", value=attempts)]
    base, _ = run.baseline(run.judged_history(lambda h: h.get("errorRate")))
    limit = t.max_error_rate if base is None else max(t.max_error_rate, base + t.error_rate_margin)
    parts = [f"{kind} ×{k}" for kind, k in sorted(m["fetchErrors"].items())]
    parts += [f"dropped {reason} ×{k}" for reason, k in sorted(m["dropped"].items())]
    parts += [f"pipeline errors ×{m['itemErrors']}"] if m["itemErrors"] else []
    text = f"{m['failures']} of {attempts} article page(s) failed ({_pct(rate)}"
    text += f" vs a baseline of {_pct(base)})" if base is not None else ")"
    text += f": {', '.join(parts)}" if parts else ""
    if rate > limit:
        return [CheckResult("error_rate", DEGRADED, f"{text}; degraded above {_pct(limit)}", value=rate,
                            baseline=base, limit=round(limit, 4))]
    return [CheckResult("error_rate", OK, text, value=rate, baseline=base)]


def item_schema(run: PortalRun) -> list[CheckResult]:
    """A sample of the run's articles against the article's JSON Schema (newscrawler.schema.json_schema)."""
    m = run.metrics
    checked, errors = m["schemaChecked"], m["schemaErrors"]
    if not checked:
        return []
    if errors:
        detail = "; ".join(f"{name}: {message}" for name, message in sorted(errors.items()))
        return [CheckResult("schema", DEGRADED, f"articles among the {checked} sampled do not match the article "
                                                f"JSON Schema: {detail}", value=len(errors), limit=0)]
    return [CheckResult("schema", OK, f"{checked} sampled article(s) match the article JSON Schema", value=0)]
