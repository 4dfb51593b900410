"""Word-level and WordPiece tokenizers: ids, detokenization, limits, save/load and export."""

import functools

import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from attention_layers.text import (
    DEFAULT_MAX_LENGTH,
    END_ID,
    PAD_ID,
    RESERVED_TOKENS,
    START_ID,
    UNK_ID,
    WordPieceTokenizer,
    WordTokenizer,
    canonical_text,
    count_words,
)

SPANISH = [
    "El perro negro duerme.",
    "¿Dónde está el baño?",
    "¡Hola, Tom!",
    "La niña lee un libro en el jardín.",
    "Él no come pan; tú sí.",
    "Las canciones de mi niñez son bonitas.",
]


def decoded(tensor):
    return [value.decode("utf-8") for value in tensor.numpy()]


@pytest.fixture(scope="module")
def word_tokenizer():
    return WordTokenizer.build(SPANISH)


@pytest.fixture(scope="module")
def wordpiece_tokenizer():
    return WordPieceTokenizer.build(SPANISH * 5, vocabulary_size=200, lower_threshold=2)


def test_count_words_normalizes_first():
    counts = count_words(["¡Hola, Tom!", "hola", tf.constant("HOLA").numpy()])
    assert counts == {"¡": 1, "hola": 3, ",": 1, "tom": 1, "!": 1}
    dataset = tf.data.Dataset.from_tensor_slices(["a b", "b"])
    assert count_words(dataset) == {"a": 1, "b": 2}


def test_word_vocabulary_is_reserved_tokens_then_words_by_frequency_then_alphabet():
    tokenizer = WordTokenizer.build(["b a a", "c a ."])
    assert tokenizer.vocabulary == (*RESERVED_TOKENS, "a", ".", "b", "c")
    assert tokenizer.vocabulary_size == 8
    assert (tokenizer.pad_id, tokenizer.unk_id, tokenizer.start_id, tokenizer.end_id) == (
        0,
        1,
        2,
        3,
    )
    assert tokenizer.token_to_id("b") == 6
    assert tokenizer.token_to_id("zzz") == UNK_ID


def test_word_vocabulary_limits():
    texts = ["a a a b b c"]
    assert WordTokenizer.build(texts, min_count=2).vocabulary[4:] == ("a", "b")
    assert WordTokenizer.build(texts, max_vocabulary_size=5).vocabulary[4:] == ("a",)


def test_word_tokenize_values():
    tokenizer = WordTokenizer.build(["b a a", "c a ."])
    assert tokenizer.tokenize(["A b.", "c d", ""]).to_list() == [
        [START_ID, 4, 6, 5, END_ID],
        [START_ID, 7, UNK_ID, END_ID],
        [START_ID, END_ID],
    ]
    assert tokenizer.tokenize(["A b.", ""], add_start_end=False).to_list() == [[4, 6, 5], []]
    padded = tokenizer.tokenize(["a", "a b c"]).to_tensor()
    assert padded.numpy().tolist() == [[2, 4, 3, 0, 0], [2, 4, 6, 7, 3]]
    assert padded.dtype == tf.int64


@pytest.mark.parametrize("tokenizer_fixture", ["word_tokenizer", "wordpiece_tokenizer"])
def test_round_trip_gives_canonical_text(tokenizer_fixture, request):
    tokenizer = request.getfixturevalue(tokenizer_fixture)
    assert decoded(tokenizer.detokenize(tokenizer.tokenize(SPANISH))) == decoded(
        canonical_text(SPANISH)
    )
    assert decoded(tokenizer.detokenize(tokenizer.tokenize(["¡Hola, Tom!"]))) == ["¡hola, tom!"]


def test_detokenize_drops_start_and_padding_and_stops_at_end(word_tokenizer):
    perro, negro = word_tokenizer.token_to_id("perro"), word_tokenizer.token_to_id("negro")
    dense = tf.constant(
        [[START_ID, perro, negro, END_ID, perro, PAD_ID], [perro, END_ID, 0, 0, 0, 0]]
    )
    assert decoded(word_tokenizer.detokenize(dense)) == ["perro negro", "perro"]
    ragged = tf.ragged.constant([[START_ID, negro], [UNK_ID, perro, END_ID]], dtype=tf.int32)
    assert decoded(word_tokenizer.detokenize(ragged)) == ["negro", "[UNK] perro"]


def test_ids_to_tokens_labels_each_position(word_tokenizer):
    ids = word_tokenizer.tokenize(["El perro."])
    assert ids.to_list() == [[2, *[word_tokenizer.token_to_id(w) for w in ("el", "perro", ".")], 3]]
    assert word_tokenizer.ids_to_tokens(ids).to_list() == [
        [b"[START]", b"el", b"perro", b".", b"[END]"]
    ]


@pytest.mark.parametrize("tokenizer_fixture", ["word_tokenizer", "wordpiece_tokenizer"])
def test_empty_and_huge_inputs_are_cut_to_max_length(tokenizer_fixture, request):
    tokenizer = request.getfixturevalue(tokenizer_fixture)
    many_words = "el perro negro duerme " * 500  # 10,000 characters
    one_word = "a" * 10_000
    ids = tokenizer.tokenize(["", many_words, one_word])
    assert ids.row_lengths().numpy().tolist() == [2, DEFAULT_MAX_LENGTH, 3]
    assert ids[0].numpy().tolist() == [START_ID, END_ID]
    assert ids[1][-1] == END_ID
    assert ids[2].numpy().tolist() == [START_ID, UNK_ID, END_ID]
    empty, cut, _ = decoded(tokenizer.detokenize(ids))
    assert empty == ""
    assert len(cut) > 300 and decoded(canonical_text([many_words]))[0].startswith(cut)
    content = tokenizer.tokenize([many_words], add_start_end=False, max_length=10_000).to_list()[0]
    assert len(content) > DEFAULT_MAX_LENGTH
    assert tokenizer.tokenize([many_words], max_length=6).to_list() == [
        [START_ID, *content[:4], END_ID]
    ]
    assert tokenizer.tokenize([many_words], add_start_end=False, max_length=6).to_list() == [
        content[:6]
    ]


def test_max_length_must_leave_room_for_start_and_end(word_tokenizer):
    with pytest.raises(ValueError, match="max_length must be >= 2"):
        word_tokenizer.tokenize(["a"], max_length=1)
    assert word_tokenizer.tokenize(["el perro"], max_length=2).to_list() == [[START_ID, END_ID]]


def test_wordpiece_splits_unseen_words_into_pieces(wordpiece_tokenizer):
    vocabulary = wordpiece_tokenizer.vocabulary
    assert vocabulary[:4] == RESERVED_TOKENS
    assert any(token.startswith("##") for token in vocabulary)
    # "perros" and "bonito" never occur in training but are spelled with known pieces.
    ids = wordpiece_tokenizer.tokenize(["Los perros bonitos."])
    pieces = [token.decode() for token in wordpiece_tokenizer.ids_to_tokens(ids)[0].numpy()]
    assert UNK_ID not in ids.flat_values.numpy()
    assert "".join(piece.removeprefix("##") for piece in pieces[1:-1]) == "losperrosbonitos."
    assert decoded(wordpiece_tokenizer.detokenize(ids)) == ["los perros bonitos."]
    # A suffix piece at the start of a sequence (a cut one) loses its "##".
    suffix = next(token for token in vocabulary if token.startswith("##"))
    assert decoded(wordpiece_tokenizer.detokenize([[vocabulary.index(suffix)]])) == [suffix[2:]]


def test_wordpiece_unknown_characters_and_overlong_words_become_unk(wordpiece_tokenizer):
    ids = wordpiece_tokenizer.tokenize(["el 猫", "a" * 101])
    assert ids.to_list()[0][-2:] == [UNK_ID, END_ID]
    assert ids.to_list()[1] == [START_ID, UNK_ID, END_ID]


@pytest.mark.parametrize("tokenizer_class", [WordTokenizer, WordPieceTokenizer])
def test_save_writes_one_token_per_line_and_load_restores(tokenizer_class, tmp_path, request):
    fixture = "word_tokenizer" if tokenizer_class is WordTokenizer else "wordpiece_tokenizer"
    tokenizer = request.getfixturevalue(fixture)
    path = tokenizer.save(tmp_path / "vocabulary.txt")
    assert path.read_text(encoding="utf-8").splitlines() == list(tokenizer.vocabulary)
    loaded = tokenizer_class.load(path)
    assert loaded.vocabulary == tokenizer.vocabulary
    assert loaded.tokenize(SPANISH).to_list() == tokenizer.tokenize(SPANISH).to_list()


@pytest.mark.parametrize("tokenizer_class", [WordTokenizer, WordPieceTokenizer])
def test_a_cased_tokenizer_round_trips_cased_text_and_loads_with_its_setting(tokenizer_class,
                                                                            tmp_path):
    texts = ["Tom lives in Paris.", "tom likes paris."]
    if tokenizer_class is WordPieceTokenizer:
        cased = WordPieceTokenizer.build(texts * 20, vocabulary_size=80, lowercase=False)
    else:
        cased = WordTokenizer.build(texts, lowercase=False)
    assert not cased.lowercase and {"Tom", "tom"} <= set(cased.vocabulary)
    assert decoded(cased.detokenize(cased.tokenize(texts))) == texts
    path = cased.save(tmp_path / "vocabulary.txt")
    loaded = tokenizer_class.load(path, lowercase=False)
    assert decoded(loaded.detokenize(loaded.tokenize(texts))) == texts
    # A file alone (every vocabulary written before the setting) loads lower-casing.
    old = tokenizer_class.load(path)
    assert old.lowercase and decoded(old.detokenize(old.tokenize(texts[:1]))) == [
        "tom lives in paris."
    ]
    with pytest.raises(ValueError, match="lowercase must be True or False"):
        tokenizer_class(cased.vocabulary, lowercase="no")


@pytest.mark.parametrize(
    "vocabulary, message",
    [
        (["a", "b"], "must start with"),
        ([*RESERVED_TOKENS, "a", "a"], "Duplicate tokens"),
        ([*RESERVED_TOKENS, "a b"], "without whitespace"),
        ([*RESERVED_TOKENS, ""], "non-empty"),
    ],
)
def test_bad_vocabularies_are_refused(vocabulary, message):
    with pytest.raises(ValueError, match=message):
        WordTokenizer(vocabulary)


@pytest.mark.parametrize("tokenizer_fixture", ["word_tokenizer", "wordpiece_tokenizer"])
def test_export_in_a_saved_model_carries_the_vocabulary(tokenizer_fixture, request, tmp_path):
    tokenizer = request.getfixturevalue(tokenizer_fixture)

    class Exported(tf.Module):
        def __init__(self, tokenizer):
            super().__init__()
            self.tokenizer = tokenizer

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def tokenize(self, strings):
            return self.tokenizer.tokenize(strings).to_tensor()

        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int64)])
        def detokenize(self, ids):
            return self.tokenizer.detokenize(ids)

    tf.saved_model.save(Exported(tokenizer), str(tmp_path / "exported"))
    restored = tf.saved_model.load(str(tmp_path / "exported"))
    ids = restored.tokenize(tf.constant(SPANISH))
    assert ids.numpy().tolist() == tokenizer.tokenize(SPANISH).to_tensor().numpy().tolist()
    assert decoded(restored.detokenize(ids)) == decoded(canonical_text(SPANISH))


_WORDS = [
    "el",
    "perro",
    "niña",
    "¿",
    "?",
    "¡",
    "!",
    ",",
    ".",
    "sí",
    "está",
    "canción",
    "tom's",
    "3",
    "-",
]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(_WORDS), max_size=12).map(" ".join), min_size=1, max_size=5)
)
def test_round_trip_of_in_vocabulary_text(sentences):
    tokenizer = _tokenizer_of_words()
    assert decoded(tokenizer.detokenize(tokenizer.tokenize(sentences))) == decoded(
        canonical_text(sentences)
    )


@functools.cache
def _tokenizer_of_words():
    # Hypothesis examples share one tokenizer: building it per example would be slow.
    return WordTokenizer.build([" ".join(_WORDS)])
