"""The generated Spanish-English corpus: size, speed, determinism, grammar and gold alignments."""

import collections
import hashlib
import json
import time

import pytest

from attention_layers.data import generate_translation_corpus, generate_translation_pairs, lexicon
from attention_layers.text import normalize

NUM_PAIRS = 20_000
# sha256 of the 20,000 pairs of seed 0 and their alignments (the builtin preset's corpus).
DIGEST = "ec28be94e360d1f6e21462a09fd743c4d6adeb592181a76093966e3889e0e436"


@pytest.fixture(scope="module")
def generated():
    start = time.perf_counter()
    corpus = generate_translation_corpus(NUM_PAIRS, seed=0)
    seconds = time.perf_counter() - start
    pairs, alignments = [], []
    for name in ("train", "validation", "test"):
        pairs += corpus.split(name)
        alignments += corpus.alignments[name]
    spanish = [s.decode().split() for s in normalize([s for s, _ in pairs]).numpy()]
    english = [e.decode().split() for e in normalize([e for _, e in pairs]).numpy()]
    return corpus, seconds, pairs, alignments, spanish, english


def test_twenty_thousand_distinct_pairs_in_seconds(generated):
    corpus, seconds, pairs, *_ = generated
    assert seconds < 15
    assert len(pairs) == NUM_PAIRS
    assert len({spanish for spanish, _ in pairs}) == NUM_PAIRS
    sizes = [len(corpus.split(name)) / NUM_PAIRS for name in ("train", "validation", "test")]
    assert 0.78 < sizes[0] < 0.82 and 0.08 < sizes[1] < 0.12 and 0.08 < sizes[2] < 0.12


def test_seeded_and_deterministic():
    assert generate_translation_corpus(300, seed=5) == generate_translation_corpus(300, seed=5)
    assert generate_translation_corpus(300, seed=5) != generate_translation_corpus(300, seed=6)
    assert generate_translation_pairs(3, seed=0) == [
        ("¿Dónde duermen mis gatos?", "Where do my cats sleep?", {0: 1, 3: 4, 4: 2}),
        ("¿Dónde descansan unos estudiantes?", "Where do some students rest?", {0: 1, 3: 4, 4: 2}),
        ("Este lago grande es tranquilo.", "This big lake is quiet.", {1: 2, 2: 1, 3: 3, 4: 4}),
    ]


def test_the_corpus_is_the_one_the_figures_were_measured_on(generated):
    """The README's and RESULTS.md's builtin figures were measured on this corpus: a change
    to the word tables (`data/words/*.tsv`, their order included) or to the grammar gives
    another. Change the digest only on purpose."""
    _, _, pairs, alignments, *_ = generated
    text = json.dumps([pairs, [sorted(links.items()) for links in alignments]],
                      ensure_ascii=False)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert digest == DIGEST


def test_the_word_tables_read_as_written():
    """`lexicon` reads `data/words/*.tsv`: irregular cells as given, empty ones by rule."""
    counts = [len(lexicon.NOUNS), len(lexicon.ADJECTIVES), len(lexicon.INTRANSITIVE_VERBS),
              len(lexicon.TRANSITIVE_VERBS)]
    assert counts == [78, 42, 13, 28]
    nouns = {noun.spanish: noun for noun in lexicon.NOUNS}
    assert (nouns["ratón"].spanish_plural, nouns["ratón"].english_plural) == ("ratones", "mice")
    assert (nouns["mesa"].spanish_plural, nouns["mesa"].english_plural) == ("mesas", "tables")
    assert (nouns["paraguas"].spanish_plural, nouns["estudiante"].gender) == ("paraguas", "mf")
    assert nouns["libro"].kinds == {"thing", "writing", "openable"}
    adjectives = {adjective.english: adjective for adjective in lexicon.ADJECTIVES}
    assert list(adjectives["hardworking"].forms.values()) == [
        "trabajador", "trabajadora", "trabajadores", "trabajadoras"]
    assert list(adjectives["green"].forms.values()) == ["verde", "verde", "verdes", "verdes"]
    assert not adjectives["wet"].predicative and adjectives["black"].predicative
    verbs = {verb.english: verb for verb in lexicon.INTRANSITIVE_VERBS + lexicon.TRANSITIVE_VERBS}
    assert list(verbs["sleep"].spanish.values()) == [
        "duermo", "duermes", "duerme", "dormimos", "duermen"]
    assert list(verbs["eat"].spanish.values()) == ["como", "comes", "come", "comemos", "comen"]
    assert verbs["live"].needs_place and not verbs["live"].object_kinds
    assert (verbs["look for"].english_third, verbs["look for"].personal_a) == ("looks for", True)
    assert not verbs["eat"].personal_a and verbs["eat"].object_kinds == {"food"}


def test_sentences_have_3_to_15_words_and_a_few_hundred_word_types(generated):
    _, _, _, _, spanish, english = generated
    for words in (spanish, english):
        counts = [sum(word.isalpha() for word in sentence) for sentence in words]
        assert min(counts) == 3 and max(counts) == 15
        assert 4 < sum(counts) / len(counts) < 8  # mostly short to medium
    spanish_types = {w for sentence in spanish for w in sentence}
    english_types = {w for sentence in english for w in sentence}
    assert 300 < len(spanish_types) < 700 and 200 < len(english_types) < 400


def test_questions_and_statements_match(generated):
    _, _, pairs, *_ = generated
    for spanish, english in pairs:
        assert spanish.startswith("¿") == english.endswith("?") == spanish.endswith("?")
        assert spanish[spanish.startswith("¿")].isupper() and english[0].isupper()
    kinds = collections.Counter(spanish.split()[0].lstrip("¿") for spanish, _ in pairs)
    assert kinds["Qué"] > 500 and kinds["Dónde"] > 500 and kinds["Quién"] > 500


def _content_translations():
    """Every (English word, Spanish word) pair the lexicon allows as an alignment link."""
    allowed = set()
    for noun in lexicon.NOUNS:
        allowed |= {(noun.english, noun.spanish), (noun.english_plural, noun.spanish_plural)}
    for adjective in lexicon.ADJECTIVES:
        allowed |= {(adjective.english, form) for form in adjective.forms.values()}
    for verb in lexicon.INTRANSITIVE_VERBS + lexicon.TRANSITIVE_VERBS:
        for person, form in verb.spanish.items():
            allowed.add((verb.english.split()[0], form))
            if person == "3sg":
                allowed.add((verb.english_third.split()[0], form))
    for person, form in lexicon.COPULA.spanish.items():
        allowed.add((lexicon.COPULA_ENGLISH[person].lower(), form))
    allowed |= {(english.lower(), spanish) for spanish, english, _, _ in lexicon.PRONOUNS}
    allowed |= {
        (english, spanish)
        for spanish, english in (lexicon.WHAT, lexicon.WHERE, lexicon.WHO, lexicon.NEGATION)
    }
    return allowed


FUNCTION_WORDS = {
    "the",
    "a",
    "an",
    "some",
    "this",
    "these",
    "my",
    "your",
    "that",
    "in",
    "do",
    "does",
    "for",
    "?",
    ".",
}


def test_every_alignment_links_a_word_to_its_translation(generated):
    _, _, _, alignments, spanish, english = generated
    allowed = _content_translations()
    links = 0
    for alignment, source, target in zip(alignments, spanish, english, strict=True):
        for target_index, source_index in alignment.items():
            assert (target[target_index], source[source_index]) in allowed, (
                source,
                target,
                alignment,
            )
        links += len(alignment)
        # Each source word is aligned at most once, and every English word is either
        # aligned or a function word.
        assert len(set(alignment.values())) == len(alignment)
        unaligned = {word for index, word in enumerate(target) if index not in alignment}
        assert unaligned <= FUNCTION_WORDS, (source, target, alignment)
    assert links > 4 * len(alignments)


def test_adjectives_follow_the_noun_in_spanish_and_precede_it_in_english(generated):
    _, _, _, alignments, spanish, english = generated
    english_adjectives = {adjective.english for adjective in lexicon.ADJECTIVES}
    english_nouns = {n.english for n in lexicon.NOUNS} | {n.english_plural for n in lexicon.NOUNS}
    reordered = 0
    for alignment, source, target in zip(alignments, spanish, english, strict=True):
        for index in range(len(target) - 1):
            if target[index] in english_adjectives and target[index + 1] in english_nouns:
                assert alignment[index] == alignment[index + 1] + 1, (source, target)
                reordered += 1
    assert reordered > 3000


def test_noun_adjective_becomes_adjective_noun(generated):
    _, _, _, _, spanish, english = generated
    nouns = collections.defaultdict(set)  # "paraguas" is singular and plural
    for noun in lexicon.NOUNS:
        nouns[noun.spanish].add(noun.english)
        nouns[noun.spanish_plural].add(noun.english_plural)
    adjectives = {form: a.english for a in lexicon.ADJECTIVES for form in a.forms.values()}
    phrases = 0
    for source, target in zip(spanish, english, strict=True):
        target_bigrams = set(zip(target, target[1:], strict=False))
        for noun, adjective in zip(source, source[1:], strict=False):
            if noun in nouns and adjective in adjectives:
                assert {
                    (adjectives[adjective], english) for english in nouns[noun]
                } & target_bigrams, (source, target)
                phrases += 1
    assert phrases > 3000


def _spanish_features():
    """Spanish form -> set of (gender, number) it can have, for determiners, nouns and adjectives."""
    determiners, nouns, adjectives = (collections.defaultdict(set) for _ in range(3))
    for forms, _ in lexicon.DETERMINERS:
        for features, form in forms.items():
            determiners[form].add(features)
    determiners["al"].add(("m", "sg"))
    for noun in lexicon.NOUNS:
        genders = "mf" if noun.gender == "mf" else noun.gender
        for gender in genders:
            nouns[noun.spanish].add((gender, "sg"))
            nouns[noun.spanish_plural].add((gender, "pl"))
    for adjective in lexicon.ADJECTIVES:
        for features, form in adjective.forms.items():
            adjectives[form].add(features)
    return determiners, nouns, adjectives


def test_determiners_and_adjectives_agree_with_their_noun(generated):
    _, _, _, _, spanish, _ = generated
    determiners, nouns, adjectives = _spanish_features()
    checked = 0
    for sentence in spanish:
        for index, word in enumerate(sentence):
            if word not in nouns:
                continue
            features = nouns[word] & determiners[sentence[index - 1]]
            assert features, sentence  # every noun has an agreeing determiner before it
            if index + 1 < len(sentence) and sentence[index + 1] in adjectives:
                assert features & adjectives[sentence[index + 1]], sentence
            checked += 1
    assert checked > 25_000


def test_verbs_and_predicates_agree_with_the_subject(generated):
    _, _, _, _, spanish, _ = generated
    determiners, nouns, adjectives = _spanish_features()
    persons = collections.defaultdict(set)
    for verb in (*lexicon.INTRANSITIVE_VERBS, *lexicon.TRANSITIVE_VERBS, lexicon.COPULA):
        for person, form in verb.spanish.items():
            persons[form].add(person)
    pronouns = {spanish: (person, gender) for spanish, _, person, gender in lexicon.PRONOUNS}
    checked = 0
    for sentence in spanish:
        words = [word for word in sentence if word not in ("¿", "?", ".")]
        # The subject opens statements and yes/no questions: a pronoun, or det + noun [+ adj].
        if words[0] in pronouns:
            person, gender = pronouns[words[0]]
            features = {(gender, person[1:]) for gender in (gender or "mf")}
            rest = words[1:]
        elif words[0] in determiners and words[1] in nouns:
            features = nouns[words[1]] & determiners[words[0]]
            rest = words[2:]
            if rest[0] in adjectives:
                features &= adjectives[rest[0]]
                rest = rest[1:]
            (_, number), *_ = features
            person = "3" + number
        else:
            continue  # a "qué / dónde / quién" question
        if rest[0] == "que":
            continue  # the subject has a relative clause; its verb comes later
        verb = rest[1] if rest[0] == "no" else rest[0]
        assert person in persons[verb], sentence
        if verb in lexicon.COPULA.spanish.values():
            assert features & adjectives[words[-1]], sentence
        checked += 1
    assert checked > 8000


def test_personal_a_only_before_people_and_animals(generated):
    _, _, _, _, spanish, _ = generated
    _, nouns, _ = _spanish_features()
    animate = {n.spanish for n in lexicon.NOUNS if n.kinds & lexicon.ANIMATE}
    animate |= {n.spanish_plural for n in lexicon.NOUNS if n.kinds & lexicon.ANIMATE}
    seen = 0
    for sentence in spanish:
        for index, word in enumerate(sentence):
            if word == "al":
                assert sentence[index + 1] in animate, sentence
                seen += 1
            elif word == "a":
                assert sentence[index + 2] in animate, sentence
                seen += 1
    assert seen > 1000


def test_negation_is_aligned_and_uses_do_support(generated):
    _, _, _, alignments, spanish, english = generated
    verb_forms = {
        form
        for verb in (*lexicon.INTRANSITIVE_VERBS, *lexicon.TRANSITIVE_VERBS, lexicon.COPULA)
        for form in verb.spanish.values()
    }
    negated = 0
    for alignment, source, target in zip(alignments, spanish, english, strict=True):
        for index, word in enumerate(target):
            if word == "not":
                assert source[alignment[index]] == "no"
                # Spanish "no" precedes the verb; English needs an auxiliary before "not".
                assert source[alignment[index] + 1] in verb_forms, source
                assert set(target[:index]) & {"do", "does", "am", "is", "are"}, target
                negated += 1
    assert negated > 2000
