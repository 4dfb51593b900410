"""The Spanish-English lexicon of the generated translation corpus.

Every entry carries what agreement needs: nouns their gender and both numbers, adjectives
their four forms, verbs their present tense in both languages. Nouns have semantic kinds
and verbs say which kinds they take, so that sentences make sense ("the dog eats the
apple", never "the table eats the song"). Every Spanish word has exactly one English
translation in a given context, so each Spanish sentence has one correct translation.

The word lists are data, in `words/` beside this module: `nouns.tsv`, `adjectives.tsv` and
`verbs.tsv`, one word a line, their columns described at the top of each file. This module
reads them and gives each word the forms that its table leaves to the regular rules
(`_noun`, `_adjective`, `_verb`). The closed classes that the grammar names one by one
(pronouns, determiners, question words) and "ser" stay here.
"""

import dataclasses
import importlib.resources

# Grammatical persons used by the grammar: singular and plural, first to third person.
# (Second person plural is left out: Latin-American "ustedes" and Spanish "vosotros"
# would both be "you".)
PERSONS = ("1sg", "2sg", "3sg", "1pl", "3pl")


@dataclasses.dataclass(frozen=True)
class Noun:
    """A noun: `gender` is "m", "f", or "mf" for nouns that take either (el/la estudiante)."""

    spanish: str
    spanish_plural: str
    gender: str
    english: str
    english_plural: str
    kinds: frozenset


@dataclasses.dataclass(frozen=True)
class Adjective:
    """An adjective: Spanish forms keyed by (gender, number); `predicative` if "es <adj>" is idiomatic."""

    forms: dict
    english: str
    kinds: frozenset
    predicative: bool = True


@dataclasses.dataclass(frozen=True)
class Verb:
    """A verb in the present tense.

    Attributes:
        spanish: forms keyed by person ("1sg", ..., "3pl").
        english: the base form ("eat"); may be two words ("look for").
        english_third: the third person singular ("eats").
        subject_kinds: noun kinds that can be the subject; pronouns count as "person".
        object_kinds: noun kinds that can be the object; empty for intransitive verbs.
        personal_a: whether a person or animal object takes Spanish "a" ("ve al perro").
        needs_place: intransitive verbs that need "en <place>" ("vive en la ciudad").
    """

    spanish: dict
    english: str
    english_third: str
    subject_kinds: frozenset
    object_kinds: frozenset = frozenset()
    personal_a: bool = False
    needs_place: bool = False


def _table(name, flags=()):
    """The rows of the word table `words/NAME.tsv` beside this module, as
    `{column: value}` dicts in the file's order.

    The first line that is not a comment (`#`) names the columns; each line below it is
    one word, its cells separated by tabs. An empty cell, or a missing one at the end of a
    line, is `None`: the word follows the regular rule. The columns in `flags` hold `yes`
    or `no`, read as `True` or `False`.
    """
    path = importlib.resources.files(__package__) / "words" / f"{name}.tsv"
    lines = [(number, line) for number, line
             in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if line.strip() and not line.startswith("#")]
    (_, header), *words = lines
    columns = header.split("\t")
    rows = []
    for number, line in words:
        cells = line.split("\t")
        if len(cells) > len(columns):
            raise ValueError(f"words/{name}.tsv, line {number}: {len(cells)} cells, "
                             f"more than the {len(columns)} columns")
        row = dict.fromkeys(columns)
        row.update((column, cell or None) for column, cell in zip(columns, cells, strict=False))
        for column in flags:
            if row[column] not in ("yes", "no"):
                raise ValueError(f"words/{name}.tsv, line {number}: {column} is "
                                 f"{row[column]!r}, not yes or no")
            row[column] = row[column] == "yes"
        rows.append(row)
    return rows


def _noun(spanish, gender, english, kinds, *, spanish_plural=None, english_plural=None):
    if spanish_plural is None:
        spanish_plural = spanish + ("s" if spanish[-1] in "aeiouáéó" else "es")
    if english_plural is None:
        english_plural = english + ("es" if english.endswith(("s", "x", "ch", "sh")) else "s")
    return Noun(spanish, spanish_plural, gender, english, english_plural, frozenset(kinds.split()))


PERSON, ANIMAL, FOOD, THING, PLACE = "person", "animal", "food", "thing", "place"
ANIMATE = frozenset({PERSON, ANIMAL})

NOUNS = tuple(_noun(**row) for row in _table("nouns"))


def _adjective(
    masculine, english, kinds, *, feminine=None, plural=None, feminine_plural=None, predicative=True
):
    """Builds the four forms: -o/-a/-os/-as, or invariable in gender (-e, -l, -z, ...)."""
    if feminine is None:
        feminine = masculine[:-1] + "a" if masculine.endswith("o") else masculine
    if plural is None:
        plural = masculine + ("s" if masculine[-1] in "aeiou" else "es")
    if feminine_plural is None:
        feminine_plural = feminine + "s" if feminine != masculine else plural
    forms = {
        ("m", "sg"): masculine,
        ("f", "sg"): feminine,
        ("m", "pl"): plural,
        ("f", "pl"): feminine_plural,
    }
    return Adjective(forms, english, frozenset(kinds.split()), predicative)


ADJECTIVES = tuple(_adjective(**row) for row in _table("adjectives", flags=["predicative"]))


def _regular(infinitive):
    """Present tense of a regular -ar, -er or -ir verb."""
    stem, ending = infinitive[:-2], infinitive[-2:]
    endings = {
        "ar": ("o", "as", "a", "amos", "an"),
        "er": ("o", "es", "e", "emos", "en"),
        "ir": ("o", "es", "e", "imos", "en"),
    }[ending]
    return dict(zip(PERSONS, (stem + suffix for suffix in endings), strict=True))


def _irregular(*forms):
    return dict(zip(PERSONS, forms, strict=True))


def _verb(spanish, english, english_third, subjects, objects=None, **flags):
    """`spanish`: the infinitive of a regular verb, or its five present forms (`PERSONS`
    order), space-separated; `subjects`, `objects`: noun kinds, space-separated."""
    forms = spanish.split()
    return Verb(
        _regular(spanish) if len(forms) == 1 else _irregular(*forms),
        english,
        english_third,
        frozenset(subjects.split()),
        frozenset((objects or "").split()),
        **flags,
    )


_VERBS = tuple(_verb(**row) for row in _table("verbs", flags=["personal_a", "needs_place"]))
INTRANSITIVE_VERBS = tuple(verb for verb in _VERBS if not verb.object_kinds)
TRANSITIVE_VERBS = tuple(verb for verb in _VERBS if verb.object_kinds)

# "ser", for "<subject> es <adjective>".
COPULA = _verb("soy eres es somos son", "be", "is", "person animal food thing place")
COPULA_ENGLISH = {"1sg": "am", "2sg": "are", "3sg": "is", "1pl": "are", "3pl": "are"}

# Subject pronouns: (Spanish, English, person, gender); None: the speaker's or the
# listener's gender, chosen per sentence for agreement ("yo soy alto" / "yo soy alta").
PRONOUNS = (
    ("yo", "I", "1sg", None),
    ("tú", "you", "2sg", None),
    ("él", "he", "3sg", "m"),
    ("ella", "she", "3sg", "f"),
    ("nosotros", "we", "1pl", "m"),
    ("nosotras", "we", "1pl", "f"),
    ("ellos", "they", "3pl", "m"),
    ("ellas", "they", "3pl", "f"),
)

# Determiners: Spanish forms by (gender, number), and English by number; "a" becomes
# "an" before a vowel.
DETERMINERS = (
    (
        {("m", "sg"): "el", ("f", "sg"): "la", ("m", "pl"): "los", ("f", "pl"): "las"},
        {"sg": "the", "pl": "the"},
    ),
    (
        {("m", "sg"): "un", ("f", "sg"): "una", ("m", "pl"): "unos", ("f", "pl"): "unas"},
        {"sg": "a", "pl": "some"},
    ),
    (
        {("m", "sg"): "este", ("f", "sg"): "esta", ("m", "pl"): "estos", ("f", "pl"): "estas"},
        {"sg": "this", "pl": "these"},
    ),
    (
        {("m", "sg"): "mi", ("f", "sg"): "mi", ("m", "pl"): "mis", ("f", "pl"): "mis"},
        {"sg": "my", "pl": "my"},
    ),
    (
        {("m", "sg"): "tu", ("f", "sg"): "tu", ("m", "pl"): "tus", ("f", "pl"): "tus"},
        {"sg": "your", "pl": "your"},
    ),
)

# Question words: Spanish, English.
WHAT, WHERE, WHO = ("qué", "what"), ("dónde", "where"), ("quién", "who")
NEGATION = ("no", "not")
RELATIVE_PRONOUN = ("que", "that")
PLACE_PREPOSITION = ("en", "in")
