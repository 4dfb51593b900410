"""What a translator learns on the generated corpus: tokens, BLEU, and where it attends."""

import keras
import numpy as np
import pytest

from attention_layers.data import make_translation_dataset
from attention_layers.decoding import beam_search_decode, greedy_decode
from attention_layers.models import TransformerTranslator
from attention_layers.text import END_ID, PAD_ID, START_ID
from attention_layers.training import TransformerSchedule, evaluate_bleu, masked_loss
from attention_layers.training.state import build_training_state
from tests.training.tasks.translation.conftest import MAX_LENGTH, padded_batch

pytestmark = pytest.mark.slow


def test_rnn_translator_learns_the_tokens(trained_rnn):
    losses = trained_rnn.history["loss"]
    assert losses[-1] < losses[0] / 5
    source, target_in, target_out = padded_batch(
        trained_rnn.corpus.validation, trained_rnn.source_tokenizer, trained_rnn.target_tokenizer
    )
    predicted = np.argmax(np.asarray(trained_rnn.model((source, target_in))), axis=-1)
    real = target_out != PAD_ID
    # Every real token counts once, whatever the length of its sentence.
    accuracy = (predicted == target_out)[real].mean()
    assert accuracy > 0.9, accuracy


def test_greedy_translations_score_a_high_bleu(trained_rnn):
    bleu, hypotheses, references = evaluate_bleu(
        trained_rnn.model,
        trained_rnn.source_tokenizer,
        trained_rnn.target_tokenizer,
        trained_rnn.corpus.test,
        max_length=MAX_LENGTH,
    )
    assert len(hypotheses) == len(references) == len(trained_rnn.corpus.test)
    assert bleu.score > 60, str(bleu)
    exact = np.mean([h == r for h, r in zip(hypotheses, references, strict=True)])
    assert exact > 0.3, exact


def test_cross_attention_peaks_on_the_gold_aligned_source_word(trained_rnn):
    pairs = trained_rnn.corpus.validation
    alignments = trained_rnn.corpus.alignments["validation"]
    source, target_in, _ = padded_batch(
        pairs, trained_rnn.source_tokenizer, trained_rnn.target_tokenizer
    )
    weights = np.asarray(
        trained_rnn.model.get_attention_weights((source, target_in))["cross_attention"]
    )  # (batch, T, S)
    hits = total = 0
    for example, alignment in enumerate(alignments):
        for target_word, source_word in alignment.items():
            # Row t predicts target_out[t], English word t; the source starts with
            # [START], so Spanish word i sits at position i + 1.
            hits += int(np.argmax(weights[example, target_word]) == source_word + 1)
            total += 1
    assert total > 500
    assert hits / total >= 0.8, f"{hits}/{total} content words attend to their gold word"


def test_transformer_translator_learns_the_generated_corpus(generated_corpus):
    """A 1+1-layer Transformer, 6 epochs on the 2,400 training pairs: greedy BLEU about 88
    on 150 test sentences (the threshold leaves a margin); a decoder that sees the future
    in training, or cross-attention that reads the wrong positions, scores far lower."""
    corpus, source_tokenizer, target_tokenizer = generated_corpus
    train = make_translation_dataset(
        corpus.train, source_tokenizer, target_tokenizer,
        batch_size=32, max_length=MAX_LENGTH, shuffle=True,
    )
    model = TransformerTranslator(
        source_tokenizer.vocabulary_size, target_tokenizer.vocabulary_size, num_layers=1,
        model_dim=64, num_heads=4, feed_forward_dim=128, dropout=0.0,
    )
    schedule = TransformerSchedule(64, warmup_steps=200, scale=3e-3 * (64 * 200) ** 0.5)
    model.compile(
        keras.optimizers.Adam(schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9), masked_loss()
    )
    build_training_state(model, train)  # fit then traces its step once, not twice
    model.fit(train, epochs=6, verbose=0)
    bleu, _, _ = evaluate_bleu(
        model, source_tokenizer, target_tokenizer, corpus.test[:150], max_length=MAX_LENGTH
    )
    assert bleu.score > 70, str(bleu)


def _greedy_by_recomputation(model, source, steps):
    """Greedy decoding without the step API: rerun the whole model on each prefix."""
    target = np.full((source.shape[0], 1), START_ID, "int32")
    for _ in range(steps):
        logits = np.asarray(model((source, target)))
        target = np.concatenate([target, logits[:, -1].argmax(-1)[:, None]], axis=1)
    return target[:, 1:]


def _check_greedy_decode(model, source):
    decoded = np.asarray(greedy_decode(model, source, MAX_LENGTH, return_attention=False))
    expected = _greedy_by_recomputation(model, source, decoded.shape[1])
    for row, expected_row in zip(decoded, expected, strict=True):
        # Up to and including [END] the two agree; after it greedy_decode pads.
        ends = np.flatnonzero(expected_row == END_ID)
        stop = ends[0] + 1 if ends.size else len(expected_row)
        np.testing.assert_array_equal(row[:stop], expected_row[:stop])
        assert (row[stop:] == PAD_ID).all()


def test_the_step_by_step_decoder_used_for_bleu_matches_the_whole_model(trained_rnn):
    source, _, _ = padded_batch(
        trained_rnn.corpus.test[:8], trained_rnn.source_tokenizer, trained_rnn.target_tokenizer
    )
    _check_greedy_decode(trained_rnn.model, source)



def test_evaluate_bleu_decodes_with_the_given_length_penalty(trained_rnn, monkeypatch):
    from attention_layers.training import evaluation

    penalties = []

    def recording_beam_search(model, source_ids, max_length, beam_width, length_penalty,
                              **kwargs):
        penalties.append(length_penalty)
        return beam_search_decode(model, source_ids, max_length, beam_width, length_penalty,
                                  **kwargs)

    monkeypatch.setattr(evaluation, "beam_search_decode", recording_beam_search)
    pairs = trained_rnn.corpus.test[:40]
    tokenizers = trained_rnn.source_tokenizer, trained_rnn.target_tokenizer
    for alpha in (0.0, 1.5):
        penalties.clear()
        evaluate_bleu(
            trained_rnn.model, *tokenizers, pairs, max_length=MAX_LENGTH, beam_width=3,
            length_penalty=alpha, batch_size=60,
        )
        assert penalties == [alpha, alpha]  # two batches of 20 sentences
    penalties.clear()
    evaluate_bleu(trained_rnn.model, *tokenizers, pairs[:4], max_length=MAX_LENGTH,
                  beam_width=3)
    assert penalties == [0.6]  # GNMT's value, the default
