"""Test BLEU of a translator: greedy or beam-search translations of a split, scored with
sacrebleu."""

import numpy as np
import tensorflow as tf

from attention_layers.decoding import beam_search_decode, greedy_decode
from attention_layers.text.normalization import canonical_text
from attention_layers.training.metrics import corpus_bleu


def evaluate_bleu(
    model, source_tokenizer, target_tokenizer, pairs, *, max_length=64, batch_size=512,
    beam_width=1, length_penalty=0.6,
):
    """Translates the sources of `pairs` and scores them against their targets.

    Translation takes the steps of the serving export (`clean_text`, tokenization cut to
    `max_length`, `attention_layers.decoding.greedy_decode`, or `beam_search_decode` when
    `beam_width > 1`, detokenization), so the
    score is the exported model's. Sentences are sorted by length and translated
    `batch_size` at a time, so that each batch is padded little.
    References are compared in the tokenizers' canonical form (`canonical_text`: lower
    case, punctuation spacing as `detokenize` writes it), so case and spacing do not count
    as errors.

    Args:
        model: a `TransformerTranslator` or `RNNTranslator`.
        source_tokenizer: the source `attention_layers.text.Tokenizer`.
        target_tokenizer: the target `Tokenizer`.
        pairs: a list of `(source, reference)` strings (a `TranslationCorpus` split).
        max_length: the most tokens of a source (longer ones are cut, as in training)
            and of a translation, `[START]`/`[END]` included.
        batch_size: sentences translated together (with a beam, `batch_size // beam_width`,
            so that the decoder runs on as many rows).
        beam_width: 1 decodes greedily; more runs `beam_search_decode` with that many
            hypotheses per sentence.
        length_penalty: `alpha` of the GNMT length penalty of the beam search (0.6, its
            default; unused when decoding greedily).

    Returns:
        `(bleu, hypotheses, references)`: the `sacrebleu` `BLEUScore` (`.score` is 0-100)
        and the two lists of strings, in the order of `pairs`.

    Example:

    >>> bleu, hypotheses, references = evaluate_bleu(model, spanish, english, corpus.test)
    >>> print(f"{bleu.score:.1f}")
    """
    from attention_layers.export import clean_text

    sources = [source for source, _ in pairs]
    references = [
        text.decode("utf-8")
        for text in canonical_text([reference for _, reference in pairs]).numpy()
    ]
    all_ids = source_tokenizer.tokenize(clean_text(sources), max_length=max_length)  # ragged
    order = np.argsort(all_ids.row_lengths().numpy(), kind="stable")
    if beam_width < 1:
        raise ValueError(f"`beam_width` must be at least 1; received {beam_width}.")
    batch_size = max(1, batch_size // beam_width)
    hypotheses = [None] * len(sources)
    for start in range(0, len(sources), batch_size):
        indices = order[start : start + batch_size]
        source_ids = tf.gather(all_ids, indices).to_tensor()  # (batch, S)
        if beam_width == 1:
            token_ids = greedy_decode(model, source_ids, max_length, return_attention=False)
        else:
            token_ids = beam_search_decode(
                model, source_ids, max_length, beam_width, length_penalty,
                return_attention=False,
            )
        translations = target_tokenizer.detokenize(token_ids).numpy()
        for index, translation in zip(indices, translations, strict=True):
            hypotheses[index] = translation.decode("utf-8")
    return corpus_bleu(hypotheses, references), hypotheses, references
