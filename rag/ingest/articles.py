"""Reading files into ``Article`` records.

Handles plain text and Markdown (with an inline ``date YYYY-MM-DD`` lead, a ``key: value``
header block or front matter, and a first-line title), HTML (main text via trafilatura),
PDF (pypdf) and JSONL feeds (one article a line). Anything unreadable is reported as a
``Skipped`` with the reason; it never stops the other files.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date as _date
from email.utils import parsedate_to_datetime
from pathlib import Path

from rag.config import SUPPORTED_SUFFIXES, Settings
from rag.types import Article, Skipped

log = logging.getLogger(__name__)

_MONTHS = {m: i for i, m in enumerate(
    "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
_INLINE_DATE = re.compile(
    r"\A\s*(?:date|published|dated)\s*:?\s*(\d{4}-\d{2}-\d{2})(?:[T ][\d:.+\-Z]*)?\s+",
    re.IGNORECASE)
_HEADER_LINE = re.compile(r"^([A-Za-z][A-Za-z _-]{0,20}):[ \t]*(.*?)\s*$")
_HEADER_KEYS = {
    "title": "title", "headline": "title",
    "date": "date", "published": "date", "published_at": "date", "pubdate": "date",
    "source": "source", "url": "source", "link": "source",
    "author": None, "byline": None, "tags": None, "category": None, "section": None,
}


@dataclass(frozen=True)
class LoadResult:
    """The articles read from some paths, and what was skipped."""

    articles: list[Article]
    skipped: list[Skipped]
    files: list[Path]


def parse_date(value: str | None) -> str | None:
    """An ISO ``YYYY-MM-DD`` string for common date spellings, else None."""
    if not value:
        return None
    value = value.strip()
    m = re.match(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", value)
    if m:
        return _iso(int(m[1]), int(m[2]), int(m[3]))
    m = re.match(r"(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,})\.?,?\s+(\d{4})", value)
    if m and m[2][:3].lower() in _MONTHS:
        return _iso(int(m[3]), _MONTHS[m[2][:3].lower()], int(m[1]))
    m = re.match(r"([A-Za-z]{3,})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", value)
    if m and m[1][:3].lower() in _MONTHS:
        return _iso(int(m[3]), _MONTHS[m[1][:3].lower()], int(m[2]))
    try:
        return parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def _iso(y: int, m: int, d: int) -> str | None:
    try:
        return _date(y, m, d).isoformat()
    except ValueError:
        return None


def decode_bytes(data: bytes, path: str = "") -> str:
    """Decode article bytes: BOMs, then UTF-8, then a detected or Windows-1252 fallback.

    Raises:
        ValueError: the bytes look binary.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    head = data[:8192]
    if b"\x00" in head:
        # UTF-16 without a BOM has a NUL every other byte.
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if max(even, odd) > len(head) // 4 and min(even, odd) == 0:
            return data.decode("utf-16-le" if odd else "utf-16-be", errors="replace")
    stripped = False
    if b"\x00" in data:
        # A few stray NULs in text (a damaged save) are dropped; more means binary.
        if data.count(0) * 100 > len(data) or b"\x00\x00" in data:
            raise ValueError("binary file (contains NUL bytes)")
        data, stripped = data.replace(b"\x00", b""), True
    try:
        text = data.decode("utf-8")
        if stripped and _looks_binary(text):
            raise ValueError("binary file (contains NUL bytes)")
        if stripped:
            log.warning("%s contains NUL bytes; they were removed", path)
        return text
    except UnicodeDecodeError:
        pass
    # Western text with a few accented letters or curly quotes is the common case, and
    # detectors guess poorly on it (Latin-1 news is often taken for cp932), so try it first.
    encoding = "cp1252" if _plausible_cp1252(data) else _detect_encoding(data, path)
    log.warning("%s is not UTF-8; decoded as %s", path, encoding)
    text = data.decode(encoding, errors="replace")
    if _looks_binary(text):
        raise ValueError("binary file (not decodable as text)")
    return text


def _plausible_cp1252(data: bytes) -> bool:
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return False
    high = [c for c in text if ord(c) > 127]
    western = sum(1 for c in high if c.isalpha() or c in "£€¥©®°±·«»‘’‚“”„–—…•™§¶½¼¾×")
    return western >= 0.9 * len(high)


def _detect_encoding(data: bytes, path: str) -> str:
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is not None and best.encoding:
            return best.encoding
    except Exception:  # detection is a hint; never a reason to lose the article
        log.debug("charset detection failed for %s", path, exc_info=True)
    return "cp1252"


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    if not sample:
        return False
    bad = sum(1 for c in sample if (ord(c) < 32 and c not in "\n\r\t\f") or c == "\ufffd")
    return bad / len(sample) > 0.05


def _clean(text: str) -> str:
    """Normalise newlines and drop control characters that break tokenizers."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return re.sub(r"[\x01-\x08\x0b\x0e-\x1f\x7f]", " ", text)


def split_header(text: str) -> tuple[dict[str, str], str]:
    """Metadata at the top of a text article, and the text without it.

    Understands ``---`` front matter, a ``key: value`` block ended by a blank line, and the
    inline lead of the seed files (`` date 2025-04-25 Russia's Foreign ...``).
    """
    meta: dict[str, str] = {}
    m = _INLINE_DATE.match(text)
    if m:
        meta["date"] = m[1]
        return meta, text[m.end():]
    lines = text.split("\n")
    i = 0
    fenced = lines and lines[0].strip() == "---"
    if fenced:
        i = 1
    while i < len(lines) and (fenced or i < 12):
        line = lines[i]
        if fenced and line.strip() in ("---", "..."):
            i += 1
            break
        hm = _HEADER_LINE.match(line)
        key = hm[1].strip().lower().replace(" ", "_") if hm else None
        if not hm or key not in _HEADER_KEYS:
            if fenced and line.strip():
                i += 1
                continue
            break
        target = _HEADER_KEYS[key]
        if target and target not in meta and hm[2]:
            meta[target] = hm[2].strip().strip("'\"")
        i += 1
    if not meta:
        return {}, text
    if not fenced and i < len(lines) and lines[i].strip():
        return {}, text  # not a header block: a header block ends at a blank line
    return meta, "\n".join(lines[i:])


def split_title(text: str) -> tuple[str | None, str]:
    """A first-line title (``# Heading`` or a short line before a blank line) and the rest."""
    stripped = text.lstrip("\n")
    first, sep, rest = stripped.partition("\n")
    line = first.strip()
    if line.startswith("#"):
        return line.lstrip("#").strip() or None, rest
    if (sep and 0 < len(line) <= 150 and not line.endswith((".", "?", "!", ":", ",", ";", "\u201d"))
            and rest.startswith("\n") and len(line.split()) <= 25):
        return line, rest
    return None, text


def _make_article(article_id: str, path: Path, text: str, min_words: int, *,
                  title: str | None = None,
                  date: str | None = None, source: str | None = None) -> Article:
    text = _clean(text)
    if not text.strip():
        raise ValueError("empty file (whitespace only)")
    meta, body = split_header(text)
    if not title:
        title = meta.get("title")
    if title is None:
        title, body = split_title(body)
    body = body.strip()
    if not body:
        raise ValueError("no text after the header")
    problem = near_empty(body, title, min_words)
    if problem:
        raise ValueError(problem)
    return Article(
        id=article_id, path=str(path), title=(title or _lead(body) or path.stem).strip(),
        date=parse_date(date) or parse_date(meta.get("date")),
        source=source or meta.get("source"), text=body)


_SENTENCE_END = re.compile(r"[.!?\u2026](?=[\"'\u201d\u2019)]*(?:\s|$))"
                           r"|[\u3002\uff01\uff1f\u061f\u0964]")


def near_empty(body: str, title: str | None = None,
               min_words: int = Settings.near_empty_words) -> str | None:
    """Why a body is too near empty to be an article, or None: a title alone ("Just a
    title": one line and no other title) or fewer than ``min_words`` words without one
    full sentence. A short body that is a sentence ("The harbour strike ended.") is a
    brief and is kept."""
    words = body.split()
    if len(words) >= min_words or _SENTENCE_END.search(body):
        return None
    if "\n" not in body and (title is None or title.strip() == body):
        return (f"only a title, no body text (\u201c{' '.join(words)[:60]}\u201d): nothing "
                "to answer from")
    return (f"near-empty: {len(words)} words and no full sentence; an article needs body "
            "text")


def _lead(text: str, limit: int = 90) -> str:
    """A stand-in title for an untitled article: its opening words."""
    first = text.split("\n", 1)[0].strip()
    if len(first) <= limit:
        return first
    cut = first.rfind(" ", 0, limit)
    return first[:cut if cut > limit // 2 else limit].rstrip(" ,;:") + "\u2026"


def _read_html(data: bytes, path: Path, article_id: str, min_words: int) -> Article:
    html = decode_bytes(data, str(path))
    title = date = source = None
    text = None
    try:
        import trafilatura

        doc = trafilatura.bare_extraction(html, include_comments=False, with_metadata=True,
                                          favor_recall=True)
        if doc is not None:
            doc = doc.as_dict() if hasattr(doc, "as_dict") else doc
            text, title = doc.get("text"), doc.get("title")
            date, source = doc.get("date"), doc.get("url")
    except Exception:  # a parser failure falls back to plain tag stripping
        log.debug("trafilatura failed on %s", path, exc_info=True)
    if not text:
        text, title = _strip_tags(html)
    if not text or not text.strip():
        raise ValueError("HTML has no readable text")
    return _make_article(article_id, path, text, min_words, title=title, date=date,
                         source=source)


def _strip_tags(html: str) -> tuple[str, str | None]:
    from html.parser import HTMLParser

    class _Text(HTMLParser):
        skip_tags = {"script", "style", "noscript", "template", "head", "svg"}
        blocks = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "tr", "section", "article"}

        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self.skip = 0
            self.title: str | None = None
            self._in_title = False

        def handle_starttag(self, tag, attrs):
            if tag in self.skip_tags:
                self.skip += 1
            if tag == "title":
                self._in_title = True
            if tag in self.blocks:
                self.parts.append("\n\n")

        def handle_endtag(self, tag):
            if tag in self.skip_tags and self.skip:
                self.skip -= 1
            if tag == "title":
                self._in_title = False

        def handle_data(self, data):
            if self._in_title:
                self.title = (self.title or "") + data.strip()
            elif not self.skip:
                self.parts.append(data)

    parser = _Text()
    parser.feed(html)
    text = re.sub(r"\n\s*\n\s*", "\n\n", "".join(parser.parts))
    return text.strip(), parser.title


def _read_pdf(data: bytes, path: Path, article_id: str, min_words: int) -> Article:
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    pages = [(page.extract_text() or "").strip() for page in reader.pages]
    text = "\n\n".join(p for p in pages if p)
    if not text.strip():
        raise ValueError("PDF has no extractable text (scanned images need OCR first)")
    meta = reader.metadata or {}
    title = (meta.get("/Title") or "").strip() or None
    raw_date = meta.get("/CreationDate")
    date = None
    if isinstance(raw_date, str) and raw_date.startswith("D:") and len(raw_date) >= 10:
        date = f"{raw_date[2:6]}-{raw_date[6:8]}-{raw_date[8:10]}"
    return _make_article(article_id, path, text, min_words, title=title, date=date)


def _read_jsonl(data: bytes, path: Path, article_id: str, min_words: int
                ) -> tuple[list[Article], list[Skipped]]:
    articles, skipped = [], []
    for n, line in enumerate(decode_bytes(data, str(path)).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("line is not a JSON object")
            text = record.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ValueError("no 'text' field")
            rid = str(record.get("id") or n)
            articles.append(_make_article(
                f"{article_id}#{rid}", path, text, min_words, title=_str(record.get("title")),
                date=_str(record.get("date")), source=_str(record.get("url"))))
        except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
            skipped.append(Skipped(where, _reason(exc)))
    if not articles and not skipped:
        skipped.append(Skipped(str(path), "empty file"))
    return articles, skipped


def _str(value) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON ({exc.msg})"
    return str(exc) or type(exc).__name__


def read_file(path: Path, article_id: str, max_bytes: int,
              min_words: int = Settings.near_empty_words) -> tuple[list[Article], list[Skipped]]:
    """Read one file into articles; problems become ``Skipped`` entries, never exceptions.
    A body under ``min_words`` words without a full sentence is skipped (``near_empty``)."""
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
        if size == 0:
            return [], [Skipped(str(path), "empty file")]
        if size > max_bytes:
            return [], [Skipped(str(path), f"file too large ({size:,} bytes; the limit is "
                                           f"{max_bytes:,}, see Settings.max_article_bytes)")]
        data = path.read_bytes()
        if suffix == ".jsonl":
            return _read_jsonl(data, path, article_id, min_words)
        if suffix in (".html", ".htm"):
            return [_read_html(data, path, article_id, min_words)], []
        if suffix == ".pdf":
            return [_read_pdf(data, path, article_id, min_words)], []
        return [_make_article(article_id, path, decode_bytes(data, str(path)), min_words)], []
    except OSError as exc:
        return [], [Skipped(str(path), f"unreadable: {exc.strerror or exc}")]
    except ValueError as exc:
        return [], [Skipped(str(path), _reason(exc))]
    except Exception as exc:  # one bad file must never stop the others
        return [], [Skipped(str(path), f"could not parse {suffix[1:].upper() or 'file'}: "
                                       f"{_reason(exc)}")]


def iter_files(paths: Iterable[Path]) -> Iterator[tuple[Path, str]]:
    """Supported files under ``paths`` with their article ids (relative path, no suffix)."""
    for root in paths:
        root = Path(root)
        if root.is_file():
            yield root.resolve(), root.stem
            continue
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if any(part.startswith(".") for part in rel.parts):
                continue  # hidden files and folders (.git, editor swap files)
            if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
                yield path.resolve(), rel.with_suffix("").as_posix()


def load_articles(paths: Iterable[Path], max_bytes: int = 20_000_000) -> LoadResult:
    """Every article under ``paths``; bad files are skipped with a logged warning."""
    articles: list[Article] = []
    skipped: list[Skipped] = []
    files: list[Path] = []
    for path, article_id in iter_files(paths):
        files.append(path)
        found, bad = read_file(path, article_id, max_bytes)
        articles.extend(found)
        for s in bad:
            log.warning("skipped %s: %s", s.path, s.reason)
        skipped.extend(bad)
    return LoadResult(articles, skipped, files)
