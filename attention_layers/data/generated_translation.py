"""A generated Spanish-English corpus with gold word alignments: the offline default.

A small grammar over the lexicon of `attention_layers.data.lexicon` (about 80 nouns, 40
adjectives, 40 verbs) writes Spanish sentences and their one correct English translation
side by side. It covers what makes translation need attention:

- agreement: determiners and adjectives agree with the noun in gender and number, verbs
  with the subject ("las vacas negras duermen" / "el perro negro duerme");
- reordering: the adjective follows the noun in Spanish and precedes it in English
  ("el perro negro" -> "the black dog");
- negation with English do-support ("no come" -> "does not eat");
- questions: yes/no questions (English inversion), and "qué / dónde / quién" questions;
- relative clauses, on subjects and objects, nested up to two deep, for length variety
  ("el libro que la niña lee es rojo" -> "the book that the girl reads is red");
- the personal "a" before people and animals ("ve al perro" -> "sees the dog").

Each word that carries content (noun, adjective, verb, pronoun, negation, question word)
is linked to its translation, which gives the gold alignment. Sentences have 3 to 15 words
(punctuation not counted), and the translation of a Spanish sentence is unique: the
generator raises if two derivations ever give one Spanish sentence two translations.
"""

import dataclasses
import functools
import random
import re

from attention_layers.data import lexicon
from attention_layers.data.corpora import TranslationCorpus, split_annotated

MIN_WORDS, MAX_WORDS = 3, 15

# How often each construction is chosen; the values keep most sentences short to medium.
_SENTENCE_TYPES = {"statement": 0.55, "yes_no_question": 0.2, "wh_question": 0.25}
_CLAUSE_TYPES = {"intransitive": 0.3, "transitive": 0.5, "copula": 0.2}
_RELATIVE_CLAUSE_PROBABILITY = (0.2, 0.1)  # at depth 0 and 1; none deeper
_ADJECTIVE_PROBABILITY = 0.35
_PLACE_PROBABILITY = 0.25
_NEGATION_PROBABILITY = 0.25
_RELATIVE_NEGATION_PROBABILITY = 0.15
_PRONOUN_PROBABILITY = 0.25
_INANIMATE = frozenset({"food", "thing", "place"})


@dataclasses.dataclass(frozen=True)
class _Word:
    """A word of one language; words of the two languages with the same link translate each other."""

    text: str
    link: int | None = None


@dataclasses.dataclass
class _NounPhrase:
    spanish: list
    english: list
    person: str  # "1sg" ... "3pl"
    gender: str  # "m" or "f", for agreement
    kinds: frozenset  # for the verbs and adjectives that fit


@dataclasses.dataclass
class _Clause:
    """A subject and its predicate, before word order is fixed by the sentence type."""

    subject: _NounPhrase
    verb: lexicon.Verb
    negated: bool
    spanish_verb: _Word
    english_link: int
    negation_link: int
    spanish_rest: list  # object and place, or the predicate adjective
    english_rest: list

    @property
    def is_copula(self):
        return self.verb is lexicon.COPULA


class _Grammar:
    def __init__(self, rng):
        self.rng = rng
        self._links = 0

    def _new_link(self):
        self._links += 1
        return self._links

    def _chance(self, probability):
        return self.rng.random() < probability

    def _weighted(self, weights):
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    # Sentences.

    def sentence(self):
        """Returns `(spanish_words, english_words)`, punctuation included."""
        sentence_type = self._weighted(_SENTENCE_TYPES)
        if sentence_type == "wh_question":
            spanish, english = self.rng.choice(
                (self._what_question, self._where_question, self._who_question)
            )()
            return [_Word("¿"), *spanish, _Word("?")], [*english, _Word("?")]
        clause = self.clause(self._weighted(_CLAUSE_TYPES), depth=0)
        if sentence_type == "yes_no_question":
            spanish, english = self._yes_no_question(clause)
            return [_Word("¿"), *spanish, _Word("?")], [*english, _Word("?")]
        spanish, english = self._statement(clause)
        return [*spanish, _Word(".")], [*english, _Word(".")]

    def _statement(self, clause):
        spanish = [
            *clause.subject.spanish,
            *self._spanish_negation(clause),
            clause.spanish_verb,
            *clause.spanish_rest,
        ]
        if clause.is_copula:
            english_verb = [
                _Word(lexicon.COPULA_ENGLISH[clause.subject.person], clause.english_link)
            ]
            english_verb += self._english_negation(clause)
        elif clause.negated:
            english_verb = [self._do(clause.subject.person), *self._english_negation(clause)]
            english_verb += self._english_verb(clause.verb, "base", clause.english_link)
        else:
            english_verb = self._english_verb(
                clause.verb, clause.subject.person, clause.english_link
            )
        return spanish, [*clause.subject.english, *english_verb, *clause.english_rest]

    def _yes_no_question(self, clause):
        # Spanish keeps the statement's order; English inverts: "Does the dog sleep?"
        spanish, _ = self._statement(clause)
        if clause.is_copula:
            auxiliary = [_Word(lexicon.COPULA_ENGLISH[clause.subject.person], clause.english_link)]
            verb = []
        else:
            auxiliary = [self._do(clause.subject.person)]
            verb = self._english_verb(clause.verb, "base", clause.english_link)
        english = [
            *auxiliary,
            *clause.subject.english,
            *self._english_negation(clause),
            *verb,
            *clause.english_rest,
        ]
        return spanish, english

    def _what_question(self):
        # "¿Qué come el perro?" -> "What does the dog eat?"
        verb = self.rng.choice(
            [v for v in lexicon.TRANSITIVE_VERBS if v.object_kinds - lexicon.ANIMATE]
        )
        return self._inverted_question(lexicon.WHAT, verb, with_place=True)

    def _where_question(self):
        # "¿Dónde duerme el gato?" -> "Where does the cat sleep?"
        verb = self.rng.choice(lexicon.INTRANSITIVE_VERBS)
        return self._inverted_question(lexicon.WHERE, verb, with_place=False)

    def _inverted_question(self, question_word, verb, with_place):
        """`(spanish, english)` of "<qué/dónde> <verb> <subject> [place]" -> "<what/where>
        do(es) <subject> <verb> [place]", the subject drawn for `verb`."""
        subject = self.subject(verb.subject_kinds, depth=1)
        link, verb_link = self._new_link(), self._new_link()
        place_spanish, place_english = self._maybe_place() if with_place else ([], [])
        spanish = [
            _Word(question_word[0], link),
            _Word(verb.spanish[subject.person], verb_link),
            *subject.spanish,
            *place_spanish,
        ]
        english = [
            _Word(question_word[1], link),
            self._do(subject.person),
            *subject.english,
            *self._english_verb(verb, "base", verb_link),
            *place_english,
        ]
        return spanish, english

    def _who_question(self):
        # "¿Quién lee el libro?" -> "Who reads the book?"
        verb = self.rng.choice(
            [
                v
                for v in lexicon.INTRANSITIVE_VERBS + lexicon.TRANSITIVE_VERBS
                if "person" in v.subject_kinds
            ]
        )
        link, verb_link = self._new_link(), self._new_link()
        rest_spanish, rest_english = self._complements(verb, depth=1)
        spanish = [
            _Word(lexicon.WHO[0], link),
            _Word(verb.spanish["3sg"], verb_link),
            *rest_spanish,
        ]
        english = [
            _Word(lexicon.WHO[1], link),
            *self._english_verb(verb, "3sg", verb_link),
            *rest_english,
        ]
        return spanish, english

    # Clauses and phrases.

    def clause(self, clause_type, depth):
        if clause_type == "copula":
            subject = self.subject(lexicon.COPULA.subject_kinds, depth)
            adjective = self.rng.choice(
                [a for a in lexicon.ADJECTIVES if a.predicative and a.kinds & subject.kinds]
            )
            link = self._new_link()
            rest_spanish = [_Word(adjective.forms[(subject.gender, _number(subject.person))], link)]
            rest_english = [_Word(adjective.english, link)]
            verb = lexicon.COPULA
        else:
            verbs = (
                lexicon.INTRANSITIVE_VERBS
                if clause_type == "intransitive"
                else lexicon.TRANSITIVE_VERBS
            )
            verb = self.rng.choice(verbs)
            subject = self.subject(verb.subject_kinds, depth)
            rest_spanish, rest_english = self._complements(verb, depth)
        verb_link = self._new_link()
        return _Clause(
            subject=subject,
            verb=verb,
            negated=self._chance(_NEGATION_PROBABILITY),
            spanish_verb=_Word(verb.spanish[subject.person], verb_link),
            english_link=verb_link,
            negation_link=self._new_link(),
            spanish_rest=rest_spanish,
            english_rest=rest_english,
        )

    def subject(self, kinds, depth):
        """A noun phrase or, for verbs that people do, sometimes a pronoun."""
        if "person" in kinds and self._chance(_PRONOUN_PROBABILITY):
            spanish, english, person, gender = self.rng.choice(lexicon.PRONOUNS)
            gender = gender or self.rng.choice("mf")
            link = self._new_link()
            return _NounPhrase(
                [_Word(spanish, link)],
                [_Word(english, link)],
                person,
                gender,
                frozenset({"person"}),
            )
        return self.noun_phrase(kinds, depth)

    def _complements(self, verb, depth):
        """The object (with the personal "a" where Spanish needs it) and an optional place."""
        spanish, english = [], []
        if verb.object_kinds:
            phrase = self.noun_phrase(verb.object_kinds, depth)
            spanish = phrase.spanish
            if verb.personal_a and phrase.kinds & lexicon.ANIMATE:
                spanish = _with_personal_a(spanish)
            english = phrase.english
        if verb.needs_place or (not verb.object_kinds and self._chance(_PLACE_PROBABILITY)):
            place_spanish, place_english = self._place()
            spanish, english = spanish + place_spanish, english + place_english
        return spanish, english

    def _maybe_place(self):
        return self._place() if self._chance(_PLACE_PROBABILITY) else ([], [])

    def _place(self):
        phrase = self.noun_phrase(frozenset({"place"}), depth=len(_RELATIVE_CLAUSE_PROBABILITY))
        spanish_in, english_in = lexicon.PLACE_PREPOSITION
        return [_Word(spanish_in), *phrase.spanish], [_Word(english_in), *phrase.english]

    def noun_phrase(self, kinds, depth):
        """Determiner, noun, optional adjective, optional relative clause (depth permitting)."""
        noun = self.rng.choice(_nouns_of(kinds))
        gender = self.rng.choice("mf") if noun.gender == "mf" else noun.gender
        number = self.rng.choice(("sg", "pl"))
        spanish_determiners, english_determiners = self.rng.choice(lexicon.DETERMINERS)
        noun_link = self._new_link()
        spanish = [
            _Word(spanish_determiners[(gender, number)]),
            _Word(noun.spanish if number == "sg" else noun.spanish_plural, noun_link),
        ]
        english_noun = _Word(noun.english if number == "sg" else noun.english_plural, noun_link)
        english_modifiers = []
        if self._chance(_ADJECTIVE_PROBABILITY):
            adjective = self.rng.choice(_adjectives_for(noun.kinds))
            link = self._new_link()
            spanish.append(_Word(adjective.forms[(gender, number)], link))
            english_modifiers.append(_Word(adjective.english, link))
        english_determiner = english_determiners[number]
        following = (english_modifiers or [english_noun])[0].text
        if english_determiner == "a" and following[0] in "aeiou":
            english_determiner = "an"
        english = [_Word(english_determiner), *english_modifiers, english_noun]
        person = "3sg" if number == "sg" else "3pl"
        if depth < len(_RELATIVE_CLAUSE_PROBABILITY) and self._chance(
            _RELATIVE_CLAUSE_PROBABILITY[depth]
        ):
            relative_spanish, relative_english = self._relative_clause(
                noun.kinds, person, depth + 1
            )
            spanish, english = spanish + relative_spanish, english + relative_english
        return _NounPhrase(spanish, english, person, gender, noun.kinds)

    def _relative_clause(self, head_kinds, head_person, depth):
        """ "que ..." after a noun; English "that ..." in the same place."""
        que, that = lexicon.RELATIVE_PRONOUN
        subject_verbs = [
            v
            for v in lexicon.INTRANSITIVE_VERBS + lexicon.TRANSITIVE_VERBS
            if v.subject_kinds & head_kinds
        ]
        # Object relatives only on things: "la mujer que el niño ve" would want "a la que".
        object_verbs = []
        if head_kinds & _INANIMATE:
            object_verbs = [v for v in lexicon.TRANSITIVE_VERBS if v.object_kinds & head_kinds]
        if object_verbs and (not subject_verbs or self._chance(0.5)):
            # "el libro que la niña lee" -> "the book that the girl reads"
            verb = self.rng.choice(object_verbs)
            subject = self.subject(verb.subject_kinds, depth=len(_RELATIVE_CLAUSE_PROBABILITY))
            spanish_verb, english_verb = self._finite_verb(verb, subject.person)
            return (
                [_Word(que), *subject.spanish, *spanish_verb],
                [_Word(that), *subject.english, *english_verb],
            )
        # "el perro que come la manzana" -> "the dog that eats the apple"
        verb = self.rng.choice(subject_verbs)
        spanish_verb, english_verb = self._finite_verb(verb, head_person)
        rest_spanish, rest_english = self._complements(verb, depth)
        return [_Word(que), *spanish_verb, *rest_spanish], [
            _Word(that),
            *english_verb,
            *rest_english,
        ]

    def _finite_verb(self, verb, person):
        """The verb of a relative clause, maybe negated: ("no come", "does not eat")."""
        link = self._new_link()
        spanish = [_Word(verb.spanish[person], link)]
        if self._chance(_RELATIVE_NEGATION_PROBABILITY):
            negation_link = self._new_link()
            spanish_no, english_not = lexicon.NEGATION
            english = [
                self._do(person),
                _Word(english_not, negation_link),
                *self._english_verb(verb, "base", link),
            ]
            return [_Word(spanish_no, negation_link), *spanish], english
        return spanish, self._english_verb(verb, person, link)

    # English verb forms.

    def _english_verb(self, verb, person, link):
        """ "eats" for 3sg, "eat" otherwise; a two-word verb ("looks for") links its first word."""
        text = verb.english_third if person == "3sg" else verb.english
        first, *rest = text.split()
        return [_Word(first, link), *(_Word(word) for word in rest)]

    def _do(self, person):
        return _Word("does" if person == "3sg" else "do")

    def _spanish_negation(self, clause):
        return [_Word(lexicon.NEGATION[0], clause.negation_link)] if clause.negated else []

    def _english_negation(self, clause):
        return [_Word(lexicon.NEGATION[1], clause.negation_link)] if clause.negated else []


@functools.cache
def _nouns_of(kinds):
    return [noun for noun in lexicon.NOUNS if noun.kinds & kinds]


@functools.cache
def _adjectives_for(kinds):
    return [adjective for adjective in lexicon.ADJECTIVES if adjective.kinds & kinds]


def _number(person):
    return person[1:]


def _with_personal_a(spanish):
    # "a" + "el" contracts to "al"; the article carries no link, so neither does "al".
    if spanish[0].text == "el":
        return [_Word("al"), *spanish[1:]]
    return [_Word("a"), *spanish]


def _surface(words):
    """Joins words into a written sentence: punctuation attached, first letter capitalized."""
    text = " ".join(word.text for word in words)
    text = re.sub(r" ([.,?!])", r"\1", text)
    text = re.sub(r"([¿¡]) ", r"\1", text)
    first_letter = re.search(r"[^\W\d_]", text)
    if first_letter:
        position = first_letter.start()
        text = text[:position] + text[position].upper() + text[position + 1 :]
    return text


def _alignment(spanish, english):
    """{English word index: Spanish word index} for linked (content) words."""
    spanish_index = {
        word.link: index for index, word in enumerate(spanish) if word.link is not None
    }
    return {
        index: spanish_index[word.link]
        for index, word in enumerate(english)
        if word.link is not None
    }


def _word_count(words):
    return sum(1 for word in words if any(character.isalpha() for character in word.text))


def generate_translation_pairs(num_pairs, *, seed=0):
    """Generates distinct Spanish sentences with their English translation and alignment.

    Args:
        num_pairs: how many pairs.
        seed: the random seed; the same seed gives the same pairs in the same order.

    Returns:
        A list of `(spanish, english, alignment)`, where `alignment` maps English word
        indices to Spanish word indices (words as `attention_layers.text.normalize` splits
        them, punctuation included).

    Example:

    >>> spanish, english, alignment = generate_translation_pairs(1, seed=3)[0]
    """
    rng = random.Random(seed)
    grammar = _Grammar(rng)
    translations = {}
    pairs = []
    attempts = 0
    while len(pairs) < num_pairs:
        attempts += 1
        if attempts > 100 * num_pairs + 1000:
            raise RuntimeError(f"Found only {len(pairs)} distinct sentences in {attempts} attempts")
        spanish_words, english_words = grammar.sentence()
        if not (
            MIN_WORDS <= _word_count(spanish_words) <= MAX_WORDS
            and MIN_WORDS <= _word_count(english_words) <= MAX_WORDS
        ):
            continue
        spanish, english = _surface(spanish_words), _surface(english_words)
        if spanish in translations:
            if translations[spanish] != english:
                raise RuntimeError(
                    f"Ambiguous grammar: {spanish!r} -> {translations[spanish]!r} and {english!r}"
                )
            continue
        translations[spanish] = english
        pairs.append((spanish, english, _alignment(spanish_words, english_words)))
    return pairs


def generate_translation_corpus(
    num_pairs=20_000, *, seed=0, validation_fraction=0.1, test_fraction=0.1
):
    """Generates the Spanish-English corpus with gold word alignments (works offline).

    Spanish sentences are distinct, so the split (by a hash of the Spanish sentence, as
    for `load_spa_eng`) never puts one sentence in two splits. 20,000 pairs take a few
    seconds.

    Args:
        num_pairs: the number of pairs over all splits.
        seed: the random seed for sentences and split; the same seed gives the same corpus.
        validation_fraction: the expected fraction of pairs in validation.
        test_fraction: the expected fraction of pairs in test.

    Returns:
        A `TranslationCorpus` of `(spanish, english)` pairs with `alignments`.

    Example:

    >>> corpus = generate_translation_corpus(num_pairs=2000, seed=0)
    >>> len(corpus.train) + len(corpus.validation) + len(corpus.test)
    2000
    >>> spanish, english = corpus.train[0]
    >>> alignment = corpus.alignments["train"][0]  # {english index: spanish index}
    """
    pairs = generate_translation_pairs(num_pairs, seed=seed)
    splits, alignments = split_annotated(
        pairs, [spanish for spanish, _, _ in pairs], validation_fraction=validation_fraction,
        test_fraction=test_fraction, seed=seed,
    )
    return TranslationCorpus(**splits, alignments=alignments)
