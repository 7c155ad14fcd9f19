"""Dedup benchmark: precision/recall on story copies, and cost and memory as the store grows.

    .venv/bin/python benchmarks/dedup.py [--sizes 10000,50000,100000 | --articles 1000000] [--skip-curve] [--skip-eval]

`--articles N` (`make bench-dedup ARTICLES=1000000`) measures the cost curve at 10,000 and every tenfold size up
to N (the articles are generated as the store fills; nothing is committed). The fill ran at ~160 articles a second
on the loaded 2-core development machine: 1,000,000 takes about 1 h 45 min there.

1. Evaluation set, built at run time (never committed): the replay portals' stories (their `story` ids,
   when newscrawler_replay is installed), and transformations of ../shared/corpus bodies — true copies
   (script switch, new boilerplate, re-punctuation, a lead paragraph added, one cut, headline reworded,
   and all of script+boilerplate+cut at once) and hard negatives (two halves of one article as two
   stories on one topic; two stories around one quoted background paragraph; daily weather / market /
   traffic template stories whose figures differ; two parts of one series under a shared series intro).
   Scored on pairs: a predicted pair is two articles put in one cluster; a true pair is two articles of
   one story.
2. Cost curve: a fresh embedded server is filled with synthetic articles (random fragments of corpus
   text, so 4-grams are as common as in news while long runs are not) through the real Deduplicator; at
   each size a probe of 2,000 articles (70% new, 20% edited copies of stored ones, 10% exact copies) is
   timed batch by batch. RSS of this process is read at each point: it must stay flat.
Skips (exit 0) when the corpus is absent.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np
import opencc
import pymongo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from newscrawler.dedup.engine import Deduplicator  # noqa: E402
from newscrawler.dedup.minhash import band_keys, signature  # noqa: E402
from newscrawler.normalise.article import normalise_item  # noqa: E402
from newscrawler.store.fingerprints import FingerprintRoom  # noqa: E402
from newscrawler.store.server import ensure_server  # noqa: E402

CORPUS = Path(os.environ.get("NEWSCRAWLER_CORPUS", REPO.parent / "shared" / "corpus"))
S2T = opencc.OpenCC("s2t")
SENT = re.compile(r"(?<=[。！？!?])")
TRANSFORMS = ("script", "boilerplate", "repunct", "lead_added", "para_cut", "headline", "combined")


# ---------------------------------------------------------------------------------------- sources

def corpus_originals() -> list[dict]:
    """Chinese article bodies: the labelled zh-news-dev ones, plus zh-web-unlabeled pages extracted."""
    out = []
    for f in sorted(glob.glob(str(CORPUS / "zh-news-dev" / "*.json"))):
        d = json.loads(Path(f).read_text(encoding="utf-8"))
        body = "\n".join(x.strip() for x in d["articleBody"].split("\n") if x.strip())
        out.append({"id": f"dev-{d['id'][:8]}", "headline": body.split("\n")[0][:30], "body": body})
    try:
        from newscrawler.extract import extract
    except ImportError:
        extract = None
    if extract is not None:
        for f in sorted(glob.glob(str(CORPUS / "zh-web-unlabeled" / "*.html"))):
            try:
                a = extract(Path(f).read_bytes(), f"http://example.cn/{Path(f).stem}.html")
            except Exception:
                continue
            if a.articleBody:
                out.append({"id": f"web-{Path(f).stem}", "headline": a.headline or "", "body": a.articleBody})
    # Bodies too short to say anything about near-duplicates (the engine only matches those exactly), and
    # pages that are themselves copies of another corpus page (an extractor that picked up the same
    # site-wide block on two pages): they would be unlabelled true pairs.
    kept, seen = [], []
    for o in out:
        key = re.sub(r"[\W_]", "", o["body"])
        if len(key) < 200:
            continue
        grams = {key[i : i + 4] for i in range(len(key) - 3)}
        if any(len(grams & g) / len(grams | g) > 0.2 for g in seen):
            continue
        seen.append(grams)
        kept.append(o)
    return kept


def replay_articles(tmp: Path) -> list[dict]:
    try:
        from newscrawler.extract import extract
        from newscrawler_replay import generate
        from newscrawler_replay.generate import route_file
    except ImportError:
        return []
    manifest = generate(tmp / "replay", articles_per_site=150, seed=3, version=1)
    out = []
    for a in manifest["articles"]:
        path = tmp / "replay" / "pages" / route_file(a["url"])
        if not path.exists():
            continue
        art = extract(path.read_bytes(), a["url"])
        out.append({"url": a["url"], "site": a["site"], "headline": art.headline or a["headline"],
                    "body": art.articleBody, "source": art.source, "story": f"replay:{a['story']}",
                    "kind": "replay:" + ("+".join(a["special"]) or "regular"), "datePublished": a["datePublished"]})
    return out


# ---------------------------------------------------------------------------------------- transformations

BOILER_HEAD = ["来源：{src}　作者：{who}　发布时间：2024-05-{d:02d} 10:{m:02d}", "【字体：大 中 小】【打印】",
               "当前位置：首页 > 新闻中心 > 本地要闻"]
BOILER_TAIL = ["责任编辑：{who}", "【打印本页】【关闭窗口】", "扫一扫在手机打开当前页",
               "版权所有：{src} 未经授权禁止转载、摘编、复制或建立镜像", "相关新闻：", "·市政府召开常务会议"]
NAMES = ["王晓明", "李娜", "张伟", "刘洋", "陈静", "杨帆"]
SOURCES = ["大河网", "河南日报", "焦作日报", "洛阳网", "映象网"]


def paragraphs(body: str) -> list[str]:
    return [p for p in body.split("\n") if p.strip()]


def split_for_cut(ps: list[str]) -> list[str]:
    """A body with too few paragraphs is cut by sentences instead."""
    if len(ps) >= 4:
        return ps
    sents = [s for s in SENT.split("".join(ps)) if s]
    return sents if len(sents) >= 4 else ps


def transform(kind: str, orig: dict, rng: random.Random, donor: str) -> tuple[str, str]:
    headline, ps = orig["headline"], paragraphs(orig["body"])
    if kind == "script":
        return S2T.convert(headline), S2T.convert("\n".join(ps))
    if kind == "boilerplate":
        fill = {"src": rng.choice(SOURCES), "who": rng.choice(NAMES), "d": rng.randint(1, 28), "m": rng.randint(0, 59)}
        head = [x.format(**fill) for x in rng.sample(BOILER_HEAD, 2)]
        tail = [x.format(**fill) for x in rng.sample(BOILER_TAIL, 3)]
        return headline, "\n".join(head + ps + tail)
    if kind == "repunct":
        body = "\n".join(ps)
        body = body.replace("，", ", ").replace("。", ". ").replace("“", "「").replace("”", "」").replace("：", ": ")
        # Paragraphs re-flowed too: two merged into one.
        parts = body.split("\n")
        if len(parts) > 2:
            i = rng.randrange(len(parts) - 1)
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
        return headline, "\n".join(parts)
    if kind == "lead_added":
        lead = "编者按：" + "".join(SENT.split(donor)[:2])[:rng.randint(60, 120)]
        return headline, "\n".join([lead] + ps)
    if kind == "para_cut":
        units = split_for_cut(ps)
        if len(units) < 3:
            # One long block without sentence ends (a table, a list): cut its last sixth.
            body = "\n".join(ps)
            return headline, body[: len(body) * 5 // 6]
        i = rng.choice([len(units) - 1, rng.randrange(1, len(units))]) if len(units) > 1 else 0
        joiner = "\n" if units is ps else ""
        return headline, joiner.join(units[:i] + units[i + 1 :])
    if kind == "headline":
        return f"{rng.choice(['快讯｜', '【关注】', '最新！'])}{headline[::-1][:20]}", "\n".join(ps)
    if kind == "combined":
        _, cut = transform("para_cut", orig, rng, donor)
        _, boiled = transform("boilerplate", {**orig, "body": cut}, rng, donor)
        return S2T.convert(headline), S2T.convert(boiled)
    raise ValueError(kind)


WEATHER = ("{city}气象台{m}月{d}日发布天气预报：今天白天{sky}，最高气温{hi}℃，最低气温{lo}℃，{wind}风{w}级。"
           "明天{sky2}，气温{lo2}℃到{hi2}℃。\n全市空气质量指数{aqi}，首要污染物为细颗粒物。气象部门提醒，"
           "近期昼夜温差较大，请市民注意适时增减衣物，出行注意交通安全，关注最新天气预报预警信息。")
MARKET = ("{m}月{d}日，沪深两市{trend}。截至收盘，上证指数报{sh}点，{dir1}{p1}%；深证成指报{sz}点，{dir2}{p2}%；"
          "创业板指报{cy}点。\n两市成交额{vol}亿元，北向资金净{flow}{nb}亿元。板块方面，{sector}板块涨幅居前，"
          "个股涨多跌少，{up}只个股上涨，{down}只个股下跌。分析人士认为，市场短期仍将以震荡为主。")
TRAFFIC = ("{m}月{d}日{h}时，记者从{city}交警支队获悉，今日全市共处理交通事故{acc}起，查处酒驾{dui}起、"
           "超速{spd}起。\n早高峰期间，{road}等路段车流量较大，平均车速{v}公里每小时。交警部门提醒，"
           "近期雨雾天气较多，请广大驾驶人减速慢行，保持安全车距，不疲劳驾驶，文明礼让，安全出行。")


def template_stories(rng: random.Random, days: int = 15) -> list[dict]:
    out = []
    for d in range(1, days + 1):
        r = rng.randint
        texts = {
            "weather": WEATHER.format(city="郑州市", m=7, d=d, sky=rng.choice(["晴", "多云", "晴转多云"]),
                                      sky2=rng.choice(["阴", "小雨", "多云"]), hi=r(28, 38), lo=r(18, 27),
                                      hi2=r(28, 38), lo2=r(18, 27), wind=rng.choice(["东北", "南", "西南"]),
                                      w=r(2, 5), aqi=r(30, 160)),
            "market": MARKET.format(m=7, d=d, trend=rng.choice(["震荡整理", "小幅上涨", "低开高走"]),
                                    sh=f"{r(2900, 3400)}.{r(10, 99)}", sz=f"{r(9000, 11000)}.{r(10, 99)}",
                                    cy=f"{r(1700, 2300)}.{r(10, 99)}", dir1=rng.choice(["涨", "跌"]),
                                    dir2=rng.choice(["涨", "跌"]), p1=f"0.{r(10, 99)}", p2=f"{r(0, 1)}.{r(10, 99)}",
                                    vol=r(6000, 12000), flow=rng.choice(["流入", "流出"]), nb=f"{r(1, 90)}.{r(1, 9)}",
                                    sector=rng.choice(["半导体", "医药", "银行", "新能源"]), up=r(1000, 4000),
                                    down=r(800, 3800)),
            "traffic": TRAFFIC.format(m=7, d=d, h=r(16, 18), city="洛阳市", acc=r(20, 90), dui=r(3, 30),
                                      spd=r(50, 400), road=rng.choice(["中州路", "王城大道", "开元大道"]), v=r(15, 40)),
        }
        for name, text in texts.items():
            out.append({"story": f"tpl:{name}:{d}", "kind": f"neg:template-{name}", "headline": f"{name} 7月{d}日",
                        "body": text})
    return out


def build_eval(originals: list[dict], rng: random.Random) -> list[dict]:
    rng.shuffle(originals)
    cut, donors_from = int(len(originals) * 0.6), int(len(originals) * 0.9)
    # Donors give added leads and shared background paragraphs; they are not in the set themselves, so a
    # borrowed paragraph never makes an unlabelled copy of an article in the set.
    positives, negatives, donors = originals[:cut], originals[cut:donors_from], originals[donors_from:]
    docs = []
    for o in positives:
        story = f"story:{o['id']}"
        docs.append({"story": story, "kind": "original", "headline": o["headline"], "body": o["body"]})
        for kind in TRANSFORMS:
            donor = rng.choice(donors)["body"]
            headline, body = transform(kind, o, rng, donor)
            docs.append({"story": story, "kind": f"copy:{kind}", "headline": headline, "body": body})
    for n_neg, o in enumerate(negatives):
        ps = paragraphs(o["body"])
        units = ps if len(ps) >= 4 else split_for_cut(ps)
        half = len(units) // 2
        joiner = "\n" if units is ps else ""
        first, second = joiner.join(units[:half]), joiner.join(units[half:])
        if n_neg % 3 == 2:
            # Two stories that quote the same background paragraph (an official statement, a profile of
            # the project) around different reporting.
            background = "".join(SENT.split(donors[n_neg % len(donors)]["body"])[:3])[:250]
            for part, text in (("a", first), ("b", second)):
                docs.append({"story": f"shared:{o['id']}:{part}", "kind": "neg:shared-background",
                             "headline": o["headline"], "body": background + "\n" + text})
            continue
        if n_neg % 3 == 0:
            # One topic, two different stories (the two halves of one article).
            for part, text in (("a", first), ("b", second)):
                docs.append({"story": f"topic:{o['id']}:{part}", "kind": "neg:same-topic", "headline": o["headline"],
                             "body": text})
            continue
        intro = (f"【系列报道·{o['headline'][:8]}】编者按：本报今起推出系列报道，走进基层一线，记录发展变化，"
                 "敬请关注。今天推出第{n}篇。")
        for n, part in (("一", first), ("二", second)):
            docs.append({"story": f"series:{o['id']}:{n}", "kind": "neg:series-part",
                         "headline": f"{o['headline']}（{n}）", "body": intro.format(n=n) + "\n" + part})
    docs += template_stories(rng)
    return docs


# ---------------------------------------------------------------------------------------- scoring

def to_item(doc: dict, i: int) -> dict:
    item = {"url": doc.get("url") or f"http://eval{i % 4}.example.cn/a/{i}.html",
            "site": doc.get("site") or f"eval{i % 4}",
            "headline": doc["headline"], "articleBody": doc["body"], "source": doc.get("source"),
            "datePublished": doc.get("datePublished") or "2024-07-01T08:00:00+08:00", "canonicalUrl": None}
    return normalise_item(item)


def evaluate(db: pymongo.database.Database, docs: list[dict], rng: random.Random, batch: int = 50) -> dict:
    index = FingerprintRoom(db)
    index.ensure_indexes()
    dedup = Deduplicator(index)
    order = list(range(len(docs)))
    rng.shuffle(order)
    items = {i: to_item(docs[i], i) for i in order}
    cluster = {}
    for start in range(0, len(order), batch):
        ids = order[start : start + batch]
        for i, d in zip(ids, dedup.process([items[i] for i in ids]), strict=True):
            cluster[i] = d.cluster
    true_pairs, pred_pairs = set(), set()
    by_story, by_cluster = defaultdict(list), defaultdict(list)
    for i, doc in enumerate(docs):
        by_story[doc["story"]].append(i)
        by_cluster[cluster[i]].append(i)
    for members in by_story.values():
        true_pairs.update(combinations(sorted(members), 2))
    for members in by_cluster.values():
        pred_pairs.update(combinations(sorted(members), 2))
    tp = len(true_pairs & pred_pairs)
    per_kind = defaultdict(lambda: [0, 0])
    for i, doc in enumerate(docs):
        if doc["kind"].startswith("copy:"):
            orig = next(j for j in by_story[doc["story"]] if docs[j]["kind"] == "original")
            per_kind[doc["kind"]][0] += cluster[i] == cluster[orig]
            per_kind[doc["kind"]][1] += 1
        elif doc["kind"].startswith(("neg:", "replay:")):
            # Negatives: an article wrongly merged with another story counts as an error.
            wrong = any(docs[j]["story"] != doc["story"] for j in by_cluster[cluster[i]])
            key = doc["kind"] if doc["kind"].startswith("neg:") else "replay (any story)"
            per_kind[key][0] += not wrong
            per_kind[key][1] += 1
            story = by_story[doc["story"]]
            if doc["kind"].startswith("replay:") and len(story) > 1 and i != story[0]:
                per_kind["replay copies (joined their story)"][0] += cluster[i] == cluster[story[0]]
                per_kind["replay copies (joined their story)"][1] += 1
    false_pairs = sorted(pred_pairs - true_pairs)[:5]
    missed = [(docs[i]["kind"], docs[i]["story"], len(items[i]["matchKey"])) for i in range(len(docs))
              if docs[i]["kind"].startswith("copy:") and cluster[i] != cluster[
                  next(j for j in by_story[docs[i]["story"]] if docs[j]["kind"] == "original")]]
    return {"docs": len(docs), "truePairs": len(true_pairs), "predictedPairs": len(pred_pairs), "tp": tp,
            "precision": tp / len(pred_pairs) if pred_pairs else 1.0,
            "recall": tp / len(true_pairs) if true_pairs else 1.0,
            "perKind": {k: (v[0], v[1]) for k, v in sorted(per_kind.items())},
            "falsePairExamples": [(docs[a]["kind"], docs[b]["kind"], docs[a]["story"], docs[b]["story"])
                                  for a, b in false_pairs], "missed": missed[:10]}


# ---------------------------------------------------------------------------------------- cost curve

class Synth:
    """Synthetic article bodies: random 6-character fragments of real corpus text."""

    def __init__(self, texts: list[str], seed: int = 0):
        pool = re.sub(r"[\W_]", "", "".join(texts))
        self.cps = np.frombuffer(pool.encode("utf-32-le"), dtype=np.uint32)
        self.rng = np.random.default_rng(seed)

    def body(self, chars: int) -> str:
        n = max(1, chars // 6)
        starts = self.rng.integers(0, len(self.cps) - 6, size=n)
        idx = (starts[:, None] + np.arange(6)[None, :]).ravel()
        text = self.cps[idx].tobytes().decode("utf-32-le")
        sents = [text[i : i + 40] + "。" for i in range(0, len(text), 40)]
        return "\n".join("".join(sents[i : i + 5]) for i in range(0, len(sents), 5))


def raw_item(url: str, body: str, site: str) -> dict:
    # The normalise stage's output, built directly: normalisation is not part of the dedup cost.
    from newscrawler.normalise.script import match_key

    return {"url": url, "canonicalUrl": url, "site": site, "source": None, "headline": "h",
            "articleBody": body, "matchKey": match_key(body),
            "bodyHash": hashlib.sha1(body.encode()).hexdigest(), "datePublished": None, "dateTrusted": False}


def rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cost_curve(uri: str, server_pid: int, synth: Synth, sizes: list[int], fill_batch: int = 500,
               probe: int = 2000, probe_batch: int = 100) -> list[dict]:
    client = pymongo.MongoClient(uri, tz_aware=True)
    index = FingerprintRoom(client["dedup_bench_curve"])
    index.ensure_indexes()
    dedup = Deduplicator(index)
    rng = random.Random(5)
    stored: list[tuple[str, str]] = []  # a reservoir of (url, body) to copy from, bounded
    n = 0
    rows = []
    fill_started = time.perf_counter()
    for size in sizes:
        while n < size:
            b = min(fill_batch, size - n)
            items = []
            for _ in range(b):
                body = synth.body(rng.randint(600, 3000))
                items.append(raw_item(f"http://fill{n % 4}.example.cn/{n}.html", body, f"fill{n % 4}"))
                if len(stored) < 2000:
                    stored.append((items[-1]["url"], body))
                elif rng.random() < 0.02:
                    stored[rng.randrange(2000)] = (items[-1]["url"], body)
                n += 1
            dedup.process(items)
        fill_rate = n / (time.perf_counter() - fill_started)
        times, kinds = [], defaultdict(int)
        for p in range(0, probe, probe_batch):
            items = []
            for j in range(probe_batch):
                r = rng.random()
                url = f"http://probe.example.cn/{size}/{p + j}.html"
                if r < 0.7:
                    body = synth.body(rng.randint(600, 3000))
                else:
                    _, src = rng.choice(stored)
                    ps = src.split("\n")
                    if r < 0.8:
                        body = src
                    elif r < 0.9 and len(ps) > 2:
                        body = "\n".join(ps[:-1])
                    else:
                        body = "编者按：" + synth.body(80) + "\n" + src
                items.append(raw_item(url, body, "probe"))
            t = time.perf_counter()
            for d in dedup.process(items):
                kinds[d.kind] += 1
            times.append((time.perf_counter() - t) / probe_batch * 1000)
            n += probe_batch
        rows.append({"stored": size, "msPerArticle": statistics.mean(times),
                     "elapsedSeconds": time.perf_counter() - fill_started,
                     "msP95Batch": sorted(times)[int(len(times) * 0.95) - 1],
                     "rssMiB": rss_mib(), "serverRssMiB": rss_mib(server_pid), "fillPerSecond": fill_rate,
                     "probeKinds": dict(kinds)})
        r = rows[-1]
        print(f"  stored {size:>7,}: {r['msPerArticle']:.2f} ms/article (p95 batch {r['msP95Batch']:.2f}), "
              f"RSS {r['rssMiB']:.0f} MiB, server RSS {r['serverRssMiB']:.0f} MiB, probe {dict(kinds)}, "
              f"{r['elapsedSeconds']:.0f} s since the fill began", flush=True)
    client.close()
    return rows


def sketch_speed(texts: list[str]) -> dict:
    from datasketch import MinHash

    from newscrawler.normalise.script import match_key

    keys = [match_key(t) for t in texts]
    t = time.perf_counter()
    for k in keys:
        signature(k)
        band_keys(k)
    own = (time.perf_counter() - t) / len(keys) * 1000
    t = time.perf_counter()
    for k in keys:
        m = MinHash(num_perm=128)
        m.update_batch([k[i : i + 4].encode() for i in range(max(1, len(k) - 3))])
    ds = (time.perf_counter() - t) / len(keys) * 1000
    return {"chars": statistics.mean(len(k) for k in keys), "ownMs": own, "datasketchMs": ds}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,50000,100000")
    ap.add_argument("--articles", type=int, default=0,
                    help="cost curve at 10,000 and each tenfold size up to this many stored articles "
                         "(instead of --sizes)")
    ap.add_argument("--skip-curve", action="store_true")
    ap.add_argument("--skip-eval", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if not (CORPUS / "zh-news-dev").is_dir():
        print(f"corpus {CORPUS} is absent: dedup benchmark skipped")
        return 0
    started = time.perf_counter()
    originals = corpus_originals()
    with tempfile.TemporaryDirectory(prefix="dedup-bench-") as tmp:
        server = ensure_server(Path(tmp) / "db")
        try:
            client = pymongo.MongoClient(server.client_uri, tz_aware=True)
            speed = sketch_speed([o["body"] for o in originals])
            print(f"sketch per article ({speed['chars']:.0f} key chars): own one-permutation MinHash + band keys "
                  f"{speed['ownMs']:.3f} ms, datasketch MinHash(128) {speed['datasketchMs']:.3f} ms")
            results: dict = {"sketch": speed}
            if not args.skip_eval:
                rng = random.Random(args.seed)
                docs = build_eval(list(originals), rng)
                replay = replay_articles(Path(tmp))
                docs += replay
                res = evaluate(client["dedup_bench_eval"], docs, rng)
                results["eval"] = res
                print(f"\nevaluation set: {len(originals)} corpus bodies → {len(docs) - len(replay)} articles, "
                      f"+ {len(replay)} replay articles")
                print("| set | articles | correct | rate |\n|---|---|---|---|")
                for kind, (ok, total) in res["perKind"].items():
                    print(f"| {kind} | {total} | {ok} | {ok / total:.3f} |")
                print(f"\npairs: true {res['truePairs']}, predicted {res['predictedPairs']}, correct {res['tp']}")
                print(f"**precision {res['precision']:.4f}  recall {res['recall']:.4f}** (targets ≥ 0.99 / ≥ 0.95)")
                if res["falsePairExamples"]:
                    print("false pairs (first 5):", res["falsePairExamples"])
                if res["missed"]:
                    print("missed copies (kind, story, key chars):", res["missed"])
            if not args.skip_curve:
                sizes = [int(s) for s in args.sizes.split(",")]
                if args.articles:
                    sizes = [n for n in (10_000, 100_000, 1_000_000, 10_000_000) if n < args.articles] + [args.articles]
                print("\ncost curve (batches of 100, probe of 2,000 per point; target ≤ 2 ms/article at 100,000):")
                synth = Synth([o["body"] for o in originals])
                results["curve"] = cost_curve(server.client_uri, server.pid, synth, sizes)
                print("\n| stored | ms/article | p95 batch ms/article | RSS MiB (crawler) | RSS MiB (server) "
                      "| fill articles/s |")
                print("|---|---|---|---|---|---|")
                for r in results["curve"]:
                    print(f"| {r['stored']:,} | {r['msPerArticle']:.2f} | {r['msP95Batch']:.2f} | {r['rssMiB']:.0f} | "
                          f"{r['serverRssMiB']:.0f} | {r['fillPerSecond']:.0f} |")
            client.close()
        finally:
            server.stop()
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
