"""`--shared-vocabulary`: one vocabulary for both languages and one embedding matrix for the
source, the target and the output layer (Vaswani et al. 2017, §3.4; Press & Wolf 2017)."""

import dataclasses

import keras
import numpy as np
import pytest

import train_translator
from attention_layers.data import TranslationCorpus
from attention_layers.models import TransformerTranslator
from attention_layers.text import WordPieceTokenizer, WordTokenizer
from attention_layers.training.tasks.translation import TranslationConfig, TranslationTask

SOURCE = np.array([[5, 6, 7, 8, 0], [3, 4, 9, 0, 0]])
TARGET_IN = np.array([[2, 8, 9, 10], [2, 11, 12, 0]])
TARGET_OUT = np.array([[8, 9, 10, 3], [11, 12, 3, 0]])
VOCABULARY = 30


def tied(**kwargs):
    return TransformerTranslator(
        VOCABULARY, VOCABULARY, num_layers=1, model_dim=16, num_heads=2, feed_forward_dim=32,
        dropout=0.0, shared_embeddings=True, **kwargs,
    )


def numpy_of(tensor):
    return keras.ops.convert_to_numpy(tensor)


def test_one_matrix_is_the_source_and_target_embedding_and_the_output_layer():
    model = tied()
    model.build()
    untied = TransformerTranslator(
        VOCABULARY, VOCABULARY, num_layers=1, model_dim=16, num_heads=2, feed_forward_dim=32,
    )
    untied.build()
    # Two embeddings and a Dense (kernel and bias) fewer: 2 V d + V d + V - V d weights.
    assert untied.count_params() - model.count_params() == 2 * VOCABULARY * 16 + VOCABULARY
    embeddings = model.shared_embedding.embeddings
    # The logits are the decoder's states times E^T: a zero row k gives logit k exactly 0,
    # and the other logits are unchanged by it only through the states.
    values = numpy_of(embeddings).copy()
    values[13] = 0.0
    embeddings.assign(values)
    logits = numpy_of(model((SOURCE, TARGET_IN)))
    np.testing.assert_array_equal(logits[..., 13], 0.0)
    assert np.all(np.abs(logits[..., 14]) > 0)
    # The source is read through the same matrix: changing the row of a source-only id
    # (5) moves the logits; changing one that occurs nowhere (20) moves only logit 20.
    changed = values.copy()
    changed[5] += 1.0
    embeddings.assign(changed)
    # Untrained, the source moves these logits by as little as 1e-8 (allclose's tolerance
    # would call that no change); unread, they would be equal to the bit on this CPU.
    assert not np.array_equal(numpy_of(model((SOURCE, TARGET_IN)))[..., 14], logits[..., 14])
    unused = values.copy()
    unused[20] += 1.0
    embeddings.assign(unused)
    moved = numpy_of(model((SOURCE, TARGET_IN)))
    np.testing.assert_allclose(np.delete(moved, 20, -1), np.delete(logits, 20, -1), atol=1e-6)


def test_tied_logits_match_a_numpy_projection_of_the_decoder_states():
    model = tied()
    memory, source_mask = model.encode(SOURCE)
    states = []
    original = model.decoder_norm.call
    model.decoder_norm.call = lambda x: states.append(original(x)) or states[-1]
    logits = numpy_of(model.decode(TARGET_IN, memory, source_mask))
    model.decoder_norm.call = original
    expected = numpy_of(states[-1]) @ numpy_of(model.shared_embedding.embeddings).T
    np.testing.assert_allclose(logits, expected, atol=1e-5)


def test_cached_decoding_and_a_safe_mode_round_trip(tmp_path):
    model = tied()
    logits = numpy_of(model((SOURCE, TARGET_IN)))
    context, state = model.start_decoding(SOURCE, TARGET_IN.shape[1])
    for step in range(TARGET_IN.shape[1]):
        step_logits, state, _ = model.decode_step(TARGET_IN[:, step], step, context, state)
        real = TARGET_IN[:, step] != 0
        np.testing.assert_allclose(numpy_of(step_logits)[real], logits[real, step], atol=1e-4)
    path = tmp_path / "tied.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert loaded.shared_embeddings
    assert loaded.count_params() == model.count_params()
    np.testing.assert_allclose(numpy_of(loaded((SOURCE, TARGET_IN))), logits, atol=1e-5)


def test_different_vocabulary_sizes_are_refused_by_name():
    with pytest.raises(ValueError, match=r"`source_vocab_size` \(30\) must equal "
                                         r"`target_vocab_size` \(20\)"):
        TransformerTranslator(30, 20, shared_embeddings=True)


CORPUS = TranslationCorpus(
    train=[("El perro duerme.", "The dog sleeps."), ("Tom come pan.", "Tom eats bread.")] * 12,
    validation=[("El perro come.", "The dog eats.")],
    test=[("Tom duerme.", "Tom sleeps.")],
)


@pytest.mark.parametrize("kind", ["word", "wordpiece"])
def test_the_task_learns_one_vocabulary_from_both_languages(kind):
    args = TranslationConfig(vocabulary=kind, vocabulary_size=200, shared_vocabulary=True)
    source, target = TranslationTask().tokenizers(args, CORPUS)
    assert source is target
    assert isinstance(source, WordPieceTokenizer if kind == "wordpiece" else WordTokenizer)
    ids = source.tokenize(["perro dog tom"]).to_list()[0]
    assert 1 not in ids  # no [UNK]: words of both languages are in it
    # Without the flag each side has only its own language.
    args = dataclasses.replace(args, shared_vocabulary=False)
    spanish, english = TranslationTask().tokenizers(args, CORPUS)
    if kind == "word":
        assert spanish.tokenize(["dog"]).to_list()[0][1] == 1
        assert english.tokenize(["perro"]).to_list()[0][1] == 1


def test_the_flag_is_for_the_transformer(capsys):
    with pytest.raises(SystemExit) as exit_info:
        train_translator.main(["--model", "rnn", "--shared-vocabulary"])
    assert exit_info.value.code == 2
    assert "--shared-vocabulary do(es) not apply to --model rnn" in capsys.readouterr().err
