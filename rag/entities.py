"""The entities a sentence offers as answers, as a reader would take them: spaCy's spans
trimmed of what the recogniser swept in, and relabelled where its OntoNotes labels say
less than the question needs: a count followed by a currency's name is money ("120
euros"); an age it calls a date is AGE ("Bellamy, 25,"); a date or time that is a length
of time is DURATION / TIME_SPAN ("months", "7.96 seconds"). An amount is shown as the
sentence writes it ("$901m"), and a date that only points at another ("that year") is no
date. "What month ...?" wants a month's name, "What year ...?" a year.
"""

from __future__ import annotations

import re


def answer_entities(doc):
    """The sentence's entities, trimmed and relabelled as above."""
    return [time_named(currency_named(trimmed(e))) for e in doc.ents]


_CURRENCY = frozenset("$ \u00a3 \u20ac \u00a5 US$ A$ C$ HK$".split())
_SCALE = frozenset("m bn k million billion trillion".split())


def whole_amount(span) -> str:
    """The span as the sentence writes it: an amount keeps its currency sign and its
    scale ("$901m", where the entity is "901"), verbatim from the sentence."""
    doc, start, end = span.doc, span.start, span.end
    if span.label_ == "MONEY" and start > 0 and doc[start - 1].text in _CURRENCY:
        start -= 1
    if span.label_ in ("MONEY", "CARDINAL") and end < len(doc) and \
            doc[end].lower_.rstrip(".") in _SCALE and not doc[end - 1].whitespace_:
        end += 1
    text = doc[start:end].text
    return text[:-1] if text.endswith(".") and not span.text.endswith(".") else text


def trimmed(ent):
    """The entity without what the recogniser swept in after a spaced dash or a verb
    ("Quinlan Private - bought" -> "Quinlan Private"; "Anheuser-Busch" stays whole), or a
    verb before it ("will last 48 hours" -> "48 hours")."""
    if len(ent) > 1 and ent[0].pos_ in ("VERB", "AUX"):
        ent = type(ent)(ent.doc, ent.start + 1, ent.end, label=ent.label_)
    for t in ent[1:]:
        if t.pos_ in ("VERB", "AUX") or (t.is_punct and t.text in "-\u2013\u2014"
                                          and ent.doc[t.i - 1].whitespace_):
            return type(ent)(ent.doc, ent.start, t.i, label=ent.label_)
    return ent


# Currencies written as words after a number the recogniser calls a plain count ("120
# euros"): such a number is an amount of money.
_CURRENCY_WORDS = frozenset("dollar euro pound yen yuan renminbi franc rupee rouble ruble "
                            "peso real rand krona krone lira dinar dirham riyal won shekel "
                            "cent pence penny".split())


def currency_named(ent):
    """A count followed by a currency's name, as an amount of money ("120 euros")."""
    doc = ent.doc
    if ent.label_ in ("CARDINAL", "QUANTITY") and ent.end < len(doc) and \
            doc[ent.end].lemma_.lower() in _CURRENCY_WORDS:
        return type(ent)(doc, ent.start, ent.end + 1, label="MONEY")
    return ent


# Units of time: a date or time holding one says how long ("after months of work").
_UNITS = frozenset("second minute hour day week fortnight month year decade century".split())


def time_named(ent):
    """A "date" that is an age (a bare number of one to three digits, "Bellamy, 25,", or
    "N-year-old") as the label AGE; a date that is a length of time ("months", "two
    years") as DURATION, a time that is one ("48 hours", "7.96 seconds") as TIME_SPAN;
    other entities as they are."""
    text = ent.text.lower()
    if ent.label_ == "DATE" and (text.isdigit() and len(text) <= 3 or
                                 text.endswith("-year-old") and text[:1].isdigit()):
        return type(ent)(ent.doc, ent.start, ent.end, label="AGE")
    if ent.label_ in ("DATE", "TIME") and any(
            t.lemma_.lower() in _UNITS and (t.tag_ == "NNS" or any(
                c.like_num or c.lower_ in ("a", "an") for c in t.children)) for t in ent):
        return type(ent)(ent.doc, ent.start, ent.end,
                         label="DURATION" if ent.label_ == "DATE" else "TIME_SPAN")
    return ent


def is_date(ent) -> bool:
    """A date says when: a month or day name, a year, or a word of time ("last year"),
    not a bare small number ("aged 44"), nor one that only points at a date given
    elsewhere ("that year", "the same day", "the following week")."""
    if not any(t.like_num for t in ent):
        lower = [t.lower_ for t in ent]
        if lower[0] in ("that", "those") or (lower[0] == "the" and len(lower) > 1 and
                                             lower[1] in _POINTING):
            return False
    return any(t.is_alpha for t in ent) or any(len(t.text) == 4 and t.text.isdigit()
                                               for t in ent)


_POINTING = frozenset("same following previous preceding next".split())


MONTHS = frozenset("january february march april may june july august september october "
                    "november december jan feb mar apr jun jul aug sep sept oct nov dec"
                    .split())


_YEAR = re.compile(r"(?<!\d)(?:\d{4}|[\u2019']\d{2})(?!\d)")


def names_grain(ent, grain: str) -> bool:
    """Whether a date names what "What month / year ...?" asks: a month's name; a year in
    digits ("1998", "'98")."""
    if grain == "month":
        return any(t.lower_.rstrip(".") in MONTHS for t in ent)
    if grain == "year":
        return _YEAR.search(ent.text) is not None
    return True
