"""Any language, any script (issue 25, item 2): normalization assumes neither Spanish nor
English, scripts written without spaces are split into characters as BERT splits Chinese,
and tokenize -> detokenize gives natural text (no space before a closing mark, none inside
a Chinese or Japanese sentence) in every script."""

import pytest

from attention_layers.text import WordPieceTokenizer, WordTokenizer, canonical_text, normalize

# (raw sentence, what detokenize(tokenize(...)) must give: lower-cased, NFKC-like forms).
ROUND_TRIPS = [
    ("Café naïve, São Paulo — ¿dónde está?", "café naïve, são paulo — ¿dónde está?"),
    ("Привет, мир! Как дела?", "привет, мир! как дела?"),
    ("Γειά σου Κόσμε· τι κάνεις;", "γειά σου κόσμε · τι κάνεις;"),
    ("كيف حالك؟ أنا بخير، شكرا.", "كيف حالك؟ أنا بخير، شكرا."),
    ("नमस्ते दुनिया। आप कैसे हैं?", "नमस्ते दुनिया। आप कैसे हैं?"),
    ("我爱你，世界。", "我爱你,世界。"),
    ("東京タワーに行きました！", "東京タワーに行きました!"),
    ("ผมรักคุณ", "ผมรักคุณ"),
    ("I love it 😀!", "i love it 😀!"),
]


def _decoded(tensor):
    return [value.decode("utf-8") for value in tensor.numpy()]


@pytest.mark.parametrize("tokenizer_class", [WordTokenizer, WordPieceTokenizer])
def test_every_script_round_trips_through_tokenize_and_detokenize(tokenizer_class):
    sentences = [raw for raw, _ in ROUND_TRIPS]
    if tokenizer_class is WordPieceTokenizer:
        tokenizer = WordPieceTokenizer.build(sentences * 20, vocabulary_size=2000, lower_threshold=1)
    else:
        tokenizer = WordTokenizer.build(sentences)
    ids = tokenizer.tokenize(sentences)
    assert _decoded(tokenizer.detokenize(ids)) == [natural for _, natural in ROUND_TRIPS]
    # No word of any script was unknown: the round trip is exact, not [UNK]-riddled.
    assert 1 not in ids.flat_values.numpy().tolist()  # UNK_ID


def test_unspaced_scripts_become_one_word_a_character_with_their_marks():
    assert _decoded(normalize(["我爱你", "タワー", "ที่สุด", "mix 中文 text"])) == [
        "我 爱 你",
        "タ ワ ー",
        "ที่ สุ ด",  # a Thai consonant keeps its vowel and tone marks
        "mix 中 文 text",
    ]


def test_canonical_text_joins_what_normalize_split_and_is_stable():
    texts = [raw for raw, _ in ROUND_TRIPS]
    once = _decoded(canonical_text(texts))
    assert once == [natural for _, natural in ROUND_TRIPS]
    assert _decoded(canonical_text(once)) == once
    # normalize(join_punctuation(t)) == t: joining loses nothing the tokenizers see.
    assert _decoded(normalize(once)) == _decoded(normalize(texts))


# Case kept where the data is cased (`lowercase=False`): only the lower-casing step is
# skipped; NFKC-like forms, punctuation and unspaced scripts are as with lower-casing.
CASED = [
    ("Tom lives in PARIS, ＮＹ.", "Tom lives in PARIS , NY ."),
    ("Ελένη, Καλημέρα! ΣΟΦΙΑ", "Ελένη , Καλημέρα ! ΣΟΦΙΑ"),
    ("Иван живёт в Москве?", "Иван живёт в Москве ?"),
    ("¿Dónde Está Ñandú?", "¿ Dónde Está Ñandú ?"),
    ("我爱 Tom。", "我 爱 Tom 。"),
]


def test_normalize_keeps_case_when_asked_and_changes_nothing_else():
    raw = [text for text, _ in CASED]
    kept = _decoded(normalize(raw, lowercase=False))
    assert kept == [cased for _, cased in CASED]
    assert _decoded(normalize(kept, lowercase=False)) == kept  # idempotent
    # Lower-casing afterwards gives what the default gives: no other step differs.
    assert [text.lower() for text in kept] == _decoded(normalize(raw))
    assert _decoded(canonical_text(raw, lowercase=False)) == [
        "Tom lives in PARIS, NY.", "Ελένη, Καλημέρα! ΣΟΦΙΑ", "Иван живёт в Москве?",
        "¿Dónde Está Ñandú?", "我爱 Tom。",
    ]
