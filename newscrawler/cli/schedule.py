"""`newscrawler schedule --job "02:15 crawl" --job "05:30 crawl --recheck"`: the production shape's scheduler.

A long-running loop (the crawler container's main process in docker-compose.yml) that runs each job once a
day at its time, as a child process `newscrawler [--data-dir D] ARGS…` — so every run is exactly a cron run:
the same run lock (a job that finds another crawl running exits 75 and waits for its next time), log file,
run record, deadline, exit status and cron-quiet output (passed through to the container's log). Jobs run
one after another; one that came due while another ran starts when that one ends.

Why a loop of our own rather than supercronic or ofelia: `docker stop` sends SIGTERM to the container's
main process only. This loop passes it on to the running crawl, which then stops gracefully (batch
flushed, record closed, exit 143) — supercronic waits for its jobs without telling them, so they are
SIGKILLed when the stop times out, and ofelia needs the Docker socket (root on the host) mounted into a
container. Nothing extra to download into the image either.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newscrawler.cli.common import EXIT_USAGE, SIGNAL_EXITS

MEANINGS = {0: "ok", 1: "a portal failed", 2: "nothing stored or a usage error", 3: "the database failed",
            4: "a portal degraded", 5: "stopped at the run deadline", 75: "another crawl held the lock; skipped",
            130: "stopped by SIGINT", 143: "stopped by SIGTERM"}


@dataclass
class Job:
    at: time
    args: list[str]

    @property
    def label(self) -> str:
        return " ".join(self.args)

    def next_after(self, now: datetime) -> datetime:
        due = now.replace(hour=self.at.hour, minute=self.at.minute, second=self.at.second, microsecond=0)
        return due if due > now else due + timedelta(days=1)


def parse_job(spec: str) -> Job:
    """`HH:MM[:SS] newscrawler-arguments…`, e.g. `02:15 crawl` or `05:30 crawl --recheck jzrb`."""
    parts = spec.split()
    if len(parts) < 2 or not re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", parts[0]):
        raise ValueError(f"--job {spec!r}: expected 'HH:MM[:SS] COMMAND [ARGS…]', e.g. '02:15 crawl'")
    try:
        at = time.fromisoformat(parts[0].zfill(5) if parts[0].count(":") == 1 else parts[0].zfill(8))
    except ValueError:
        raise ValueError(f"--job {spec!r}: {parts[0]!r} is not a time of day") from None
    if parts[1] in ("schedule", "demo"):
        raise ValueError(f"--job {spec!r}: {parts[1]!r} cannot be scheduled")
    return Job(at, parts[1:])


def add_parser(sub) -> None:
    p = sub.add_parser("schedule", help="run crawls every day at given times (the container's scheduler)",
                       description="Run each --job once a day at its time, as its own `newscrawler` process (same "
                                   "lock, log, run record and exit status as from cron). SIGTERM/SIGINT are passed "
                                   "to the running job, which stops gracefully; then the loop exits 143/130.")
    p.add_argument("--job", action="append", required=True, metavar="'HH:MM[:SS] ARGS'",
                   help="a daily job: its time and the newscrawler arguments, e.g. '02:15 crawl' (repeatable)")
    p.add_argument("--tz", default=os.environ.get("TZ") or "UTC",
                   help="the time zone of the job times (default: $TZ, else UTC)")
    p.set_defaults(func=run)


class Loop:
    def __init__(self, jobs: list[Job], tz: ZoneInfo, base: list[str]):
        self.jobs = jobs
        self.tz = tz
        self.base = base
        self.stop_signal: int | None = None
        self.wake = threading.Event()
        self.child: subprocess.Popen | None = None

    def on_signal(self, signum: int, _frame) -> None:
        if self.child is not None and self.child.poll() is None:
            self.child.send_signal(signum)  # a second one reaches the job as its second signal: stop at once
        if self.stop_signal is None:
            self.stop_signal = signum
        self.wake.set()

    def say(self, text: str) -> None:
        print(f"{datetime.now(self.tz).isoformat(timespec='seconds')} schedule: {text}", flush=True)

    def run(self) -> int:
        now = datetime.now(self.tz)
        due = {i: job.next_after(now) for i, job in enumerate(self.jobs)}
        for i, job in enumerate(self.jobs):
            self.say(f"'{job.label}' daily at {job.at.isoformat()} ({self.tz.key}); next {due[i].isoformat()}")
        while self.stop_signal is None:
            i = min(due, key=lambda k: due[k])
            wait = (due[i] - datetime.now(self.tz)).total_seconds()
            if wait > 0:
                self.wake.wait(min(wait, 3600))  # re-check hourly: the clock may have been set meanwhile
                continue
            self.run_job(self.jobs[i])
            due[i] = self.jobs[i].next_after(max(datetime.now(self.tz), due[i]))
        self.say(f"stopped by {signal.Signals(self.stop_signal).name}")
        return SIGNAL_EXITS.get(self.stop_signal, 128 + self.stop_signal)

    def run_job(self, job: Job) -> int:
        self.say(f"'{job.label}' starting")
        started = datetime.now(self.tz)
        # Its own session: a Ctrl-C at a terminal reaches the job once, through on_signal, not twice.
        self.child = subprocess.Popen([*self.base, *job.args], start_new_session=True)
        code = self.child.wait()
        self.child = None
        took = (datetime.now(self.tz) - started).total_seconds()
        code = code if code >= 0 else 128 - code  # killed by a signal: as a shell reports it
        self.say(f"'{job.label}' exit {code} ({MEANINGS.get(code, 'see its log')}) after {took:.0f} s")
        return code


def run(args) -> int:
    try:
        jobs = [parse_job(spec) for spec in args.job]
        tz = ZoneInfo(args.tz)
    except ValueError as exc:
        print(f"newscrawler schedule: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ZoneInfoNotFoundError:
        print(f"newscrawler schedule: --tz {args.tz!r} is not a known IANA time zone", file=sys.stderr)
        return EXIT_USAGE
    base = [sys.executable, "-m", "newscrawler"] + (["--data-dir", args.data_dir] if args.data_dir else [])
    loop = Loop(jobs, tz, base)
    for signum in SIGNAL_EXITS:
        signal.signal(signum, loop.on_signal)
    return loop.run()

