"""The word lists the project reads text with, each once: function words, question words,
the verbs of saying, pronouns, and the nouns that say what kind of answer a question wants.

Lists, not rules: the modules that use them (``text``, ``answer.questions``,
``answer.speech``, ``answer.spans``, ``answer.answerer``, the page's example questions)
say what they do with them.
"""

from __future__ import annotations


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# -- function words --------------------------------------------------------------------

#: Common English function words; they add noise to an OR query and cost time.
STOPWORDS = _set("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its
itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself yourselves
s t don doesn didn isn wasn aren weren wouldn shouldn couldn ve ll re d m o y
""")

#: Words a heading cut from a sentence should not end on ("... said on Thursday that").
DANGLING = _set("""a an the and or but nor that which who whom whose to of on in at by for
from with as into than after before about over was were is are be been has have had its
their his her""")

# -- pronouns --------------------------------------------------------------------------

#: The pronouns that stand for one person named earlier ("He resigned in November.").
PERSON_PRONOUNS = _set("he she")
#: The same, as objects too ("What did Trump tell him?").
PERSON_PRONOUNS_ANY = PERSON_PRONOUNS | _set("him her")
#: Words that refer back rather than name: a question holding one is read with the
#: conversation before it.
REFERRING = _set("""he she it they him her them his hers its their this that these those
there then""")
#: Subjects that are not a name a question could repeat.
NOT_SUBJECTS = _set("he she it they we i you this that these those there")
#: Capitalised words that open a sentence but are not a person's name.
NOT_NAMES = frozenset(w.capitalize() for w in NOT_SUBJECTS) | _set("""The A An But And Yet So
If When While Officials Police Analysts Critics Experts Sources Reports Ministers Government
Company Spokesman Spokeswoman""")

#: A person pronoun a follow-up may use for someone named before, and its possessive.
FOLLOW_UP_PERSON = PERSON_PRONOUNS | _set("him")
FOLLOW_UP_POSSESSIVE = _set("his")

# -- dates, times and numbers ----------------------------------------------------------

#: Month names, and with their abbreviations.
MONTH_NAMES = _set("""january february march april may june july august september october
november december""")
MONTHS = MONTH_NAMES | _set("jan feb mar apr jun jul aug sep sept oct nov dec")
#: Days of the week.
WEEKDAYS = _set("monday tuesday wednesday thursday friday saturday sunday")
#: Words that name a time or a span of time.
TIME_WORDS = _set("""year years month months week weeks day days decade decades century
centuries spring summer autumn fall winter yesterday today tomorrow ago night morning evening
afternoon weekend season""")
#: Numbers written as words.
NUMBER_WORDS = _set("""one two three four five six seven eight nine ten eleven twelve
thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty
seventy eighty ninety hundred hundreds thousand thousands million millions billion billions
trillion dozen dozens half third quarter""")

# -- verbs of saying -------------------------------------------------------------------

#: Reporting verbs (lemmas): the verbs news writing attributes speech with.
REPORTING_VERBS = _set("""
say tell add claim warn argue insist explain admit suggest state describe call note stress
predict reply respond comment believe think write announce acknowledge agree forecast urge
declare conclude caution confirm reckon expect deny complain estimate maintain observe
""")
#: The reporting verbs that make a question ask for someone's words ("What did X say /
#: tell / write about Y?"); "called", "thought" or "added" in a question rarely do.
ASKING_VERBS = _set("""say tell comment claim warn argue insist explain admit suggest state
predict reply respond write announce describe""")
#: Beginnings of the usual forms of reporting verbs in a sentence ("said", "tells",
#: "argued", "describing"): a cheap test before parsing it.
REPORTING_STEMS = ("said", "say", "told", "tell", "add", "warn", "argu", "claim", "insist",
                   "explain", "describ")
#: Past forms that attribute words to a named person ("Lavrov told", "said Mr Brown").
SAID_FORMS = ("said", "says", "told", "added", "warned", "argued")
#: Verbs whose date is when something was said, not when it happened.
SAYING = _set("say tell add warn argue claim note announce insist report")
#: Titles that may stand before a speaker's name.
TITLES = ("Mr", "Mrs", "Ms", "Dr", "Prof", "Sir", "Lord", "Lady", "President", "Chancellor",
          "Minister")
#: The titles that are a person's form of address ("Mr Brown").
HONORIFICS = ("Mr", "Mrs", "Ms", "Dr")

# -- what a question asks for ----------------------------------------------------------

#: Question words that say what kind of answer is wanted, not what it is about.
QUESTION_WORDS = _set("what which who whom whose when where why how many much did does do "
                      "say said tell told")
#: "How high / far / long ...?" asks for a measure: a number.
MEASURES = _set("high far long tall fast heavy deep big large old wide")
#: Words that ask for a summary.
SUMMARY_WORDS = _set("summarise summarize summary summarising summarizing recap gist tldr")
#: Heads of "What is it about / what happened / what is going on?": an overview.
OVERVIEW_HEADS = _set("about happen happened going")
#: Words that say what to do with the articles, not what they are about.
META_WORDS = _set("""summarise summarize summary story article articles news report piece
recap gist tldr tell give short brief main key points""")
#: The noun of a "which / what N" question decides the kind of answer.
NOUN_KINDS = {
    "person": """person man woman minister executive boss chief official analyst leader
        president chairman chairwoman director head spokesman spokeswoman economist coach
        manager player captain athlete singer actor actress star writer author artist lawyer
        judge doctor member candidate winner champion founder""",
    "organisation": """company firm bank outlet newspaper paper channel network group
        organisation organization agency airline broadcaster carrier team club party body
        regulator maker manufacturer retailer business brand buyer bidder owner investor""",
    "where": "country city town state region place capital nation venue location",
    "when": "year month day date decade week",
    "time": "time",  # "What time ...?", "What was her time?": a time, not a date
    "money": """price cost profit profits loss losses sales revenue revenues salary fine value
        turnover deficit debt bill budget income earnings dividend fee damages payout bonus""",
    "percent": "percentage proportion rate share stake",
    "count": "amount figure number sum total toll population",
}
#: Each of those nouns with its kind.
NOUN_KIND = {n: kind for kind, nouns in NOUN_KINDS.items() for n in nouns.split()}
