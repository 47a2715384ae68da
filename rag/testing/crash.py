"""Crash trials: kill -9 an index rebuild at a random moment, then open the index.

Each trial mutates a folder of generated articles (a random mix of additions, changes and
deletions), measures the rebuild it needs on a copy of the index (the "after" state), then
runs the same rebuild on another copy and kills it: by a timer at a random moment of the
run, or at a random line of ``rag/stores/embedded_write.py`` (the commit). The killed index
must open, pass ``Store.check()`` and equal the state before or the state after - nothing in
between.
Used by ``tests/reliability/test_crash.py`` (a few trials) and ``bench/crash.py`` (100).
The killed process is ``python -m rag.testing.index_worker``.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rag.stores.opening import open_store
from rag.testing.corpus import ROOT, write_news

WORKER = [sys.executable, "-m", "rag.testing.index_worker"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def run_worker(index_dir: Path, folder: Path, *option: str) -> subprocess.CompletedProcess:
    return subprocess.run([*WORKER, str(index_dir), str(folder), *option], env=ENV,
                          capture_output=True, text=True, check=True)


def fingerprint(index_dir: Path) -> str:
    store = open_store(index_dir)
    try:
        return store.fingerprint()
    finally:
        store.close()


@dataclass
class Results:
    trials: int = 0
    corrupt: int = 0
    half_updated: int = 0
    old: int = 0
    new: int = 0
    by_timer: int = 0
    by_line: int = 0
    finished_first: int = 0  # timer trials whose run ended before the kill landed
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "problems"} | {
            "problems": self.problems[:10]}


class Trials:
    """A folder of articles, its index, and the trials run against it."""

    def __init__(self, workdir: Path, seed: int, start_articles: int = 40):
        # Enough for 120 trials of up to 8 additions each (bench/crash.py runs 100).
        self._articles(workdir, seed, start_articles, trials=120)
        self.state = workdir / "state-0"
        run_worker(self.state, self.folder)

    def _articles(self, workdir: Path, seed: int, start_articles: int, trials: int) -> None:
        """The folder of ``start_articles`` generated articles and the pool to add from."""
        self.rng = random.Random(seed)
        self.work = workdir
        self.folder = workdir / "articles"
        self.folder.mkdir(parents=True)
        pool = write_news(workdir / "pool", seed, start_articles + 8 * trials)
        self.rng.shuffle(pool)
        for src in pool[:start_articles]:
            shutil.copy(src, self.folder / src.name)
        self.unused = pool[start_articles:]
        self.results = Results()
        self.count = 0

    def mutate(self) -> str:
        """A random mix of adding, changing and deleting articles (at least one of them)."""
        present = sorted(self.folder.iterdir())
        while True:
            adds, changes, deletes = (self.rng.randint(0, 8), self.rng.randint(0, 5),
                                      self.rng.randint(0, 5))
            if adds + changes + deletes and len(present) > changes + deletes:
                break
        picked = self.rng.sample(present, changes + deletes)
        for path in picked[:changes]:
            with open(path, "a", encoding="utf-8") as f:
                f.write(f"\nUpdate {self.count}: the story continued on another day.\n")
        for path in picked[changes:]:
            path.unlink()
        for _ in range(adds):
            if self.unused:
                src = self.unused.pop()
                shutil.copy(src, self.folder / src.name)
        return f"+{adds} ~{changes} -{deletes}"

    def trial(self, kill_by: str, at: float | None = None) -> str:
        """One trial; returns "old", "new", "corrupt" or "half_updated".

        ``kill_by`` is "timer" or "line"; ``at`` (0-1] picks the line instead of chance.
        """
        self.count += 1
        mix = self.mutate()
        before = fingerprint(self.state)
        reference = self.work / f"state-{self.count}"
        shutil.copytree(self.state, reference)
        after, lines, duration = self._complete(reference, kill_by)
        victim = self.work / f"trial-{self.count}"
        shutil.copytree(self.state, victim)
        moment = self._kill(victim, kill_by, at, lines, duration)
        outcome = self._tally(kill_by, self._judge(victim, before, after,
                                                   f"trial {self.count} ({mix}, {moment})"))
        shutil.rmtree(victim, ignore_errors=True)
        shutil.rmtree(self.state, ignore_errors=True)
        self.state = reference
        return outcome

    def _complete(self, location, kill_by: str) -> tuple[str, int, float]:
        """Run the rebuild to the end at ``location``: its fingerprint after, how many
        writer lines it ran (line trials) and how long it took."""
        began = time.perf_counter()
        lines = run_worker(location, self.folder,
                           *(["--count-lines"] if kill_by == "line" else []))
        duration = time.perf_counter() - began
        total = int(lines.stdout.strip()) if kill_by == "line" else 0
        return fingerprint(location), total, duration

    def _kill(self, location, kill_by: str, at: float | None, lines: int,
              duration: float) -> str:
        """Run the rebuild at ``location`` and kill it; returns when, in words."""
        if kill_by == "line":
            die_at = max(1, round(at * lines)) if at else self.rng.randint(1, lines)
            proc = subprocess.run([*WORKER, str(location), str(self.folder), "--die-at-line",
                                   str(die_at)], env=ENV, capture_output=True)
            if proc.returncode != -9:
                raise RuntimeError(f"the worker was not killed at line {die_at}: "
                                   f"{proc.returncode} {proc.stderr[-2000:]!r}")
            return f"writer line {die_at} of {lines}"
        proc = subprocess.Popen([*WORKER, str(location), str(self.folder)], env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        delay = self.rng.uniform(0.2, 1.1) * duration
        time.sleep(delay)
        proc.kill()
        if proc.wait() == 0:
            self.results.finished_first += 1
        return f"{delay:.2f} s of a {duration:.2f} s run"

    def _tally(self, kill_by: str, outcome: str) -> str:
        self.results.trials += 1
        setattr(self.results, "by_" + kill_by, getattr(self.results, "by_" + kill_by) + 1)
        setattr(self.results, outcome, getattr(self.results, outcome) + 1)
        return outcome

    def _judge(self, index_dir: Path, before: str, after: str, label: str) -> str:
        try:
            store = open_store(index_dir)
        except Exception as exc:  # noqa: BLE001 - any failure to open is the finding
            self.results.problems.append(f"{label}: does not open: {exc}")
            return "corrupt"
        try:
            if problems := store.check():
                self.results.problems.append(f"{label}: {'; '.join(problems)}")
                return "corrupt"
            state = store.fingerprint()
        finally:
            store.close()
        if state == before:
            return "old"
        if state == after:
            return "new"
        self.results.problems.append(f"{label}: neither the old nor the new state")
        return "half_updated"

    def recovers(self) -> bool:
        """A rebuild after a killed one completes and reaches the folder's state."""
        victim = self.work / "recovery"
        shutil.copytree(self.state, victim)
        self.mutate()
        proc = subprocess.Popen([*WORKER, str(victim), str(self.folder)], env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        proc.kill()
        proc.wait()
        run_worker(victim, self.folder)
        run_worker(self.state, self.folder)
        store = open_store(victim)
        try:
            return not store.check() and store.fingerprint() == fingerprint(self.state)
        finally:
            store.close()


class MilvusTrials(Trials):
    """The same trials against collections on a Milvus server.

    A collection cannot be copied like a directory, so a reference collection takes every
    rebuild to the end beside the victim: its fingerprint before and after a rebuild are
    the old and new states the killed victim must show. After each judgement the victim
    is rebuilt to the end too, which must repair it to the reference's state (what the
    next ``rag index`` after a crash must do).
    """

    def __init__(self, workdir: Path, seed: int, port: int, start_articles: int = 40):
        from rag.testing.milvus import fresh_uri

        self._articles(workdir, seed, start_articles, trials=40)
        self.victim = fresh_uri(port, "crash")
        self.reference = fresh_uri(port, "crashref")
        run_worker(self.victim, self.folder)
        run_worker(self.reference, self.folder)
        self.repaired = 0

    def trial(self, kill_by: str, at: float | None = None) -> str:
        self.count += 1
        mix = self.mutate()
        before = fingerprint(self.reference)
        after, lines, duration = self._complete(self.reference, kill_by)
        moment = self._kill(self.victim, kill_by, at, lines, duration)
        label = f"trial {self.count} ({mix}, {moment})"
        outcome = self._tally(kill_by, self._judge(self.victim, before, after, label))
        run_worker(self.victim, self.folder)  # the next run repairs
        store = open_store(self.victim)
        try:
            if not store.check() and store.fingerprint() == after:
                self.repaired += 1
            else:
                self.results.problems.append(f"{label}: the next run did not repair it")
        finally:
            store.close()
        return outcome
