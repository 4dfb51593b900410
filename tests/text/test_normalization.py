"""`normalize`, `join_punctuation`, `canonical_text`: exact values and the round-trip laws."""

import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from attention_layers.text import canonical_text, join_punctuation, normalize


def decoded(tensor):
    return [value.decode("utf-8") for value in tensor.numpy()]


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("¿Dónde está el BAÑO?", "¿ dónde está el baño ?"),
        ("¡Hola, Tom!", "¡ hola , tom !"),
        ("ÁRBOL Ñandú ÜBER", "árbol ñandú über"),
        ("Tom's dog isn't here.", "tom's dog isn't here ."),
        ("He said 'hello'.", "he said ' hello ' ."),
        ("rock'n'roll", "rock'n'roll"),
        ("Don’t say don´t", "don't say don't"),
        ("ＡＢＣ ﬁn", "abc fin"),
        ("  many\t spaces\n\u00a0here ", "many spaces here"),
        ("zero\u200bwidth", "zero width"),
        ("el\x00 gato\x00negro", "el gato negro"),  # a NUL does not end the text
        ("e-mail: 3.50€ (¿sí?)", "e - mail : 3 . 50 € ( ¿ sí ? )"),
        ("«Vale»…", "« vale » . . ."),  # NFKD spells the ellipsis out
        ("", ""),
    ],
)
def test_normalize_values(raw, expected):
    assert decoded(normalize([raw])) == [expected]


# Format characters (Unicode category Cf) inside a word are invisible: removing them keeps
# the word whole (a soft hyphen from a word processor, a joiner from a keyboard). The zero
# width space alone marks a word boundary, so it stays a space (the case above).
FORMAT_CHARACTERS = [
    ("ni\u00adño", "niño"),  # soft hyphen
    ("ni\u200dño", "niño"),  # zero-width joiner
    ("ni\u200cño", "niño"),  # zero-width non-joiner
    ("ni\u2060ño", "niño"),  # word joiner
    ("ni\ufeffño", "niño"),  # byte order mark inside a word
    ("ni\u200eño\u200f", "niño"),  # left-to-right and right-to-left marks
    ("\u202eel gato", "el gato"),  # right-to-left override
]


@pytest.mark.parametrize("raw, expected", FORMAT_CHARACTERS)
def test_format_characters_inside_a_word_are_removed(raw, expected):
    assert decoded(normalize([raw])) == [expected]


def test_a_tokenizer_in_a_graph_reads_a_soft_hyphenated_word_as_the_word():
    # What an export runs: tokenization inside a `tf.function`, with the same `normalize`.
    from attention_layers.text import WordTokenizer

    tokenizer = WordTokenizer.build(["el niño duerme"])
    tokenize = tf.function(
        lambda text: tokenizer.tokenize(text).to_tensor(),
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    ids = tokenize(tf.constant(["el ni\u00adño duerme", "el niño duerme"])).numpy()
    assert ids[0].tolist() == ids[1].tolist()
    assert tokenizer.unk_id not in ids[0].tolist()


def test_accents_typed_composed_or_decomposed_normalize_alike():
    composed, decomposed = "Está aquí", "Esta\u0301 aqui\u0301"
    result = decoded(normalize([composed, decomposed]))
    assert result == ["está aquí", "está aquí"]
    # Recomposed: "á" is one code point, so a vocabulary entry never splits it.
    assert len(result[1]) == len("está aquí")


def test_normalize_keeps_the_shape_of_its_input():
    assert normalize("¡Sí!").numpy().decode() == "¡ sí !"
    assert decoded(tf.reshape(normalize([["A."], ["B."]]), [-1])) == ["a .", "b ."]


@pytest.mark.parametrize(
    "normalized, expected",
    [
        ("¿ dónde está el baño ?", "¿dónde está el baño?"),
        ("¡ hola , tom !", "¡hola, tom!"),
        ("e - mail", "e-mail"),
        ("cuesta 3 . 50 €", "cuesta 3.50 €"),
        ("1 . 2 . 3", "1.2.3"),
        ("las 10 : 30", "las 10:30"),
        ("« vale » . . .", "«vale»..."),
        ("( sí ) [ no ]", "(sí) [no]"),
        ('he said " hi "', 'he said " hi "'),
        ("", ""),
    ],
)
def test_join_punctuation_values(normalized, expected):
    assert decoded(join_punctuation([normalized])) == [expected]


def test_canonical_text_is_what_detokenization_shows():
    assert decoded(canonical_text(["¿Dónde  ESTÁ  Tom?", "Go."])) == ["¿dónde está tom?", "go."]


_ALPHABET = "abcdeñzáéíóúüÁÉÑXY0129 \t¿¡?!.,;:'\"-()«»…’\u0301"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet=_ALPHABET, max_size=30), min_size=1, max_size=8))
def test_normalize_is_idempotent_and_join_punctuation_loses_nothing(texts):
    normalized = normalize(texts)
    assert decoded(normalize(normalized)) == decoded(normalized)
    assert decoded(normalize(join_punctuation(normalized))) == decoded(normalized)


def test_runs_inside_tf_function_with_a_none_shaped_string_input():
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def canonical(strings):
        return canonical_text(strings)

    assert decoded(canonical(tf.constant(["¡Hola, Tom!", ""]))) == ["¡hola, tom!", ""]
