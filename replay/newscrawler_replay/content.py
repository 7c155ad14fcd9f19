"""Story text for the replay: invented local-news prose from the sentence bank, plus the seed article.

Everything here is pure and seeded, so a recording is the same bytes for the same seed.
"""

from __future__ import annotations

import random
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
SEED_FILE = DATA_DIR / "seed_jzrb_2024-03-23.txt"


@dataclass
class Story:
    """One story as its original outlet wrote it; portals place copies of it (see generate.Placement)."""

    id: str
    headline: str
    paragraphs: list[str]
    authors: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def bank() -> dict:
    with (DATA_DIR / "bank.toml").open("rb") as fh:
        return tomllib.load(fh)


class Writer:
    """Fills bank templates; one city/county per story keeps a story about one place."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.b = bank()

    def fill(self, template: str, place: dict[str, str]) -> str:
        return template.format_map(_Slots(self, place))

    def place(self, city: str | None = None, counties: list[str] | None = None) -> dict[str, str]:
        r, b = self.rng, self.b
        return {"city": city or r.choice(b["cities"]), "county": r.choice(counties or b["counties"]),
                "town": r.choice(b["towns"])}

    def sentence(self, place: dict[str, str]) -> str:
        r, b = self.rng, self.b
        if r.random() < 0.15:
            return "“" + self.fill(r.choice(b["quotes"]), place) + "，”" + self.fill(r.choice(b["quote_tails"]), place)
        text = r.choice(b["openers"]) + r.choice(b["subjects"]) + r.choice(b["actions"])
        if r.random() < 0.8:
            text += "，" + r.choice(b["results"])
        return self.fill(text, place) + "。"

    def story(self, story_id: str, *, paragraphs: tuple[int, int] = (4, 8), authors: int = 0,
              city: str | None = None, counties: list[str] | None = None) -> Story:
        r = self.rng
        place = self.place(city, counties)
        headline = self.fill(r.choice(self.b["headlines"]), place)
        paras = []
        for _ in range(r.randint(*paragraphs)):
            paras.append("".join(self.sentence(place) for _ in range(r.randint(2, 3))))
        paras.append(self.fill(r.choice(self.b["closers"]), place))
        names = r.sample(self.b["names"], authors) if authors else []
        return Story(story_id, headline, paras, names)

    def weather(self, story_id: str, month: int, day: int) -> Story:
        """A daily weather report: fixed wording, the day's figures (see bank.toml)."""
        r, b = self.rng, self.b
        lo, lo2 = r.randint(14, 22), r.randint(14, 22)
        values = {"md": f"{month}月{day}日", "hi": str(lo + r.randint(8, 14)), "hi2": str(lo2 + r.randint(8, 14)),
                  "hi3": str(lo + r.randint(8, 14)), "lo": str(lo), "lo2": str(lo2),
                  "wind": f"{r.randint(2, 3)}～{r.randint(4, 5)}", "hum": str(r.randint(40, 90))}
        for key in ("sky", "sky2", "sky3", "sky4"):
            values[key] = r.choice(b["skies"])
        paragraphs = [t.format_map(values) for t in b["weather"]]
        return Story(story_id, b["weather_headline"].format_map(values), paragraphs)

    def edit(self, paragraph: str) -> str:
        """A correction as portals make them: one figure and a closing clause changed."""
        place = self.place()
        text = re.sub(r"\d+(\.\d+)?", lambda m: str(int(float(m.group(0))) + 7), paragraph, count=1)
        return text.rstrip("。") + "，" + self.fill(self.rng.choice(self.b["results"]), place) + "。"


class _Slots(dict):
    """Every occurrence of a slot gets a fresh value (two numbers in one sentence differ); place is fixed."""

    def __init__(self, writer: Writer, place: dict[str, str]):
        super().__init__(place)
        self.w = writer

    def __missing__(self, key: str) -> str:
        r, b = self.w.rng, self.w.b
        if key == "n":
            return str(r.randint(3, 98))
        if key == "big":
            return str(r.randint(120, 98000))
        if key == "pct":
            return f"{r.randint(1, 99)}.{r.randint(0, 9)}"
        if key == "month":
            return str(r.randint(1, 12))
        if key == "md":
            return f"{r.randint(1, 12)}月{r.randint(1, 28)}日"
        plural = {"industry": "industries"}.get(key, key + "s")
        return r.choice(b[plural])


@dataclass(frozen=True)
class SeedArticle:
    headline: str
    date_raw: str
    source: str
    editor: str
    breadcrumbs: tuple[str, ...]
    paragraphs: tuple[str, ...]


@lru_cache(maxsize=1)
def seed_article() -> SeedArticle:
    """The seed page text (Simplified, committed in data/) cut into its parts; only its first copy is used."""
    lines = [ln.strip() for ln in SEED_FILE.read_text(encoding="utf-8").splitlines()]
    crumb_at = next(i for i, ln in enumerate(lines) if ln.startswith("您现在的位置"))
    date_at = next(i for i, ln in enumerate(lines) if ln.startswith("更新时间"))
    editor_at = next(i for i, ln in enumerate(lines) if ln.startswith("文章编辑"))
    m = re.match(r"更新时间:(\S+ \S+)\s+来源:(\S+)", lines[date_at])
    if not m:
        raise ValueError(f"{SEED_FILE}: no date/source line")
    crumbs = tuple(c.strip() for c in lines[crumb_at].split(":", 1)[1].split(">"))
    headline = next(ln for ln in reversed(lines[:date_at]) if ln)
    paras = tuple(ln for ln in lines[date_at + 1:editor_at] if ln)
    return SeedArticle(headline, m.group(1), m.group(2), lines[editor_at].split(":", 1)[1].strip(),
                       crumbs, paras)
