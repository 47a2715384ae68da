"""Generated news articles: plausible prose with names, places, numbers and quotes, made
from a seed, so tests and benchmarks need no article collection beside the repository.

Each article is a title line, a blank line and a few paragraphs; ``news(seed, n)`` gives
``n`` of them, every one different, the same for the same seed.
"""

from __future__ import annotations

import random
from pathlib import Path

#: The repository's own seed article (the tests and benchmarks run from a checkout).
ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "seeds" / "000_3945f944b8b0eeeb.txt"

PEOPLE = ["Anna Berg", "Tomas Novak", "Priya Shah", "Kofi Mensah", "Lena Fischer",
          "Marco Rossi", "Sara Lind", "Omar Haddad", "Julia Costa", "Ivan Petrov",
          "Grace Okafor", "Hugo Martin"]
ROLES = ["transport minister", "chief executive", "union leader", "mayor", "finance director",
         "harbour master", "health secretary", "party chairman"]
ORGS = ["the port authority", "Northline Rail", "the city council", "Baltic Ferries",
        "the energy regulator", "Helios Power", "the teachers' union", "Vesta Bank"]
PLACES = ["Rotterdam", "Gdansk", "Porto", "Tallinn", "Lyon", "Bergen", "Leeds", "Trieste",
          "Malmo", "Cork"]
TOPICS = ["ferry fares", "a rail strike", "the new tram line", "energy prices",
          "school budgets", "harbour repairs", "bank charges", "hospital waiting lists",
          "a bridge closure", "wind farm plans"]
VERBS = ["rose", "fell", "doubled", "stalled", "recovered", "slipped"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def _sentence(rng: random.Random, topic: str, place: str) -> str:
    person, role, org = rng.choice(PEOPLE), rng.choice(ROLES), rng.choice(ORGS)
    n = rng.randint(2, 950)
    kind = rng.randrange(6)
    if kind == 0:
        return (f"{person}, the {role}, said on {rng.choice(DAYS)} that {topic} in {place} "
                f"would cost {n} million euros.")
    if kind == 1:
        return f"\u201cWe will not accept {topic},\u201d {person} told reporters in {place}."
    if kind == 2:
        return (f"Figures from {org} showed that spending on {topic} {rng.choice(VERBS)} "
                f"by {n % 40 + 1}% last year.")
    if kind == 3:
        return (f"About {n * 10} people in {place} signed a petition about {topic} "
                f"organised by {org}.")
    if kind == 4:
        return (f"Critics said {org} had ignored warnings about {topic} for {n % 12 + 2} "
                "years.")
    return f"A vote on {topic} is expected in {place} on {rng.choice(DAYS)}, {person} added."


def article(rng: random.Random, number: int, paragraphs: int = 4) -> str:
    """One article: a title line, a blank line, ``paragraphs`` paragraphs."""
    topic, place = rng.choice(TOPICS), rng.choice(PLACES)
    title = f"{place} row over {topic} ({number})"
    body = [" ".join(_sentence(rng, topic, place) for _ in range(rng.randint(2, 4)))
            for _ in range(paragraphs)]
    return f"{title}\n\n" + "\n\n".join(body) + "\n"


def news(seed: int, n: int, paragraphs: int = 4) -> list[str]:
    """``n`` distinct articles from ``seed``."""
    rng = random.Random(seed)
    return [article(rng, i, paragraphs) for i in range(n)]


def write_news(folder: Path, seed: int, n: int, prefix: str = "", paragraphs: int = 4
               ) -> list[Path]:
    """Write ``n`` generated articles as ``{prefix}{i:03d}.txt``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, text in enumerate(news(seed, n, paragraphs)):
        path = folder / f"{prefix}{i:03d}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
