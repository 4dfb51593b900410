"""The figures of a trained model: a translator's test BLEU (greedy or beam-search
translations scored with sacrebleu); a classifier's accuracy and where its pooling attention
looks (the most attended words, the share on the deciding words and on negations)."""

import keras
import numpy as np
import tensorflow as tf

from attention_layers.data.generated_sentiment import NEGATIONS
from attention_layers.decoding import beam_search_decode, greedy_decode
from attention_layers.text.conversions import make_token_ids, token_strings
from attention_layers.text.normalization import canonical_text
from attention_layers.training.metrics import corpus_bleu

TOP_WORDS = 3  # the most attended words reported per sentence


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
    References are compared in the target tokenizer's canonical form (`canonical_text`:
    lower case unless the tokenizer keeps the case, punctuation spacing as `detokenize`
    writes it), so only what the model could have written counts as an error.

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
        for text in canonical_text([reference for _, reference in pairs],
                                   target_tokenizer.lowercase).numpy()
    ]
    all_ids = source_tokenizer.tokenize(clean_text(sources), max_length=max_length)  # ragged
    if beam_width < 1:
        raise ValueError(f"`beam_width` must be at least 1; received {beam_width}.")
    hypotheses = _translate(
        model, target_tokenizer, all_ids, max_length, max(1, batch_size // beam_width),
        beam_width, length_penalty,
    )
    return corpus_bleu(hypotheses, references), hypotheses, references


def _translate(model, target_tokenizer, all_ids, max_length, batch_size, beam_width,
               length_penalty):
    """The translations (strings) of the ragged source ids `all_ids`, in their order,
    decoded shortest first in batches of `batch_size` sentences."""
    order = np.argsort(all_ids.row_lengths().numpy(), kind="stable")
    hypotheses = [None] * int(all_ids.nrows())
    for start in range(0, len(hypotheses), batch_size):
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
    return hypotheses


def pooling_attention(model, ids):
    """The pooling attention `(batch, T)` of the token ids `ids`."""
    return keras.ops.convert_to_numpy(model.get_attention_weights(ids)["pooling"])[:, 0]


def most_attended(model, tokenizer, examples, max_length, top=TOP_WORDS):
    """For each `(text, label)`: the probability and the `top` words with the most attention.

    Returns:
        A list of dicts `{"text", "label", "probability", "words": [[word, weight], ...]}`;
        `probability` is P(positive) for a binary classifier, and for one of N classes
        that of the class predicted (`"predicted"`, its index).
    """
    ids = make_token_ids(tokenizer, [text for text, _ in examples], max_length)
    outputs = keras.ops.convert_to_numpy(model(ids))
    weights = pooling_attention(model, ids)
    predicted = predicted_classes(outputs)
    results = []
    for index, ((text, label), tokens, row) in enumerate(
        zip(examples, token_strings(tokenizer, ids), weights, strict=True)
    ):
        order = np.argsort(-row[: len(tokens)], kind="stable")[:top]
        sample = {"text": text, "label": label}
        if outputs.shape[-1] == 1:  # P(positive), as before N classes
            sample["probability"] = float(outputs[index, 0])
        else:  # the predicted class and its probability
            sample["predicted"] = int(predicted[index])
            sample["probability"] = float(outputs[index, predicted[index]])
        sample["words"] = [[tokens[position], float(row[position])] for position in order]
        results.append(sample)
    return results


def deciding_attention(model, tokenizer, examples, deciding, max_length, batch_size=256):
    """The attention that falls on the deciding words, against a uniform spread.

    Positions that `max_length` cut off are not counted; a sentence whose deciding words
    were all cut off is skipped.

    Args:
        examples: `(text, label)` pairs.
        deciding: for each example, the word indices that decide its label.

    Returns:
        `(share, uniform, counted)`: the mean share of the pooling attention on the deciding
        words, the mean share that uniform attention would give them, and the number of
        sentences counted.
    """
    shares, uniform = [], []
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        ids = make_token_ids(tokenizer, [text for text, _ in chunk], max_length)
        weights = pooling_attention(model, ids)
        for row, tokens, positions in zip(
            weights, ids, deciding[start : start + batch_size], strict=True
        ):
            length = int(np.count_nonzero(tokens))
            kept = [position for position in positions if position < length]
            if kept:
                shares.append(float(row[kept].sum()))
                uniform.append(len(kept) / length)
    if not shares:
        return 0.0, 0.0, 0
    return float(np.mean(shares)), float(np.mean(uniform)), len(shares)


def negated_attention(model, tokenizer, examples, deciding, max_length, batch_size=256):
    """Where the pooling looks in the sentences whose deciding clause is negated.

    Reading "not boring" takes both words: with all the attention on "not" the pooled
    vector holds no polarity (P(positive) near 0.5), although `deciding_attention` then
    counts every bit of it as on the deciding words. So the negation and the word it
    flips (the last deciding word, see `generate_sentiment_corpus`) are measured apart.
    Sentences whose negation or word `max_length` cut off are skipped.

    Args:
        examples: `(text, label)` pairs.
        deciding: for each example, the word indices that decide its label.

    Returns:
        `(on_negation, on_word, uniform, counted)`: the mean share of the pooling attention
        on the negation and on the word it flips, the mean share of one word under uniform
        attention, and the number of negated sentences counted.
    """
    on_negation, on_word, uniform = [], [], []
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        ids = make_token_ids(tokenizer, [text for text, _ in chunk], max_length)
        weights = pooling_attention(model, ids)
        for row, tokens, positions in zip(
            weights, token_strings(tokenizer, ids), deciding[start : start + batch_size],
            strict=True,
        ):
            negations = [p for p in positions if p < len(tokens) and tokens[p] in NEGATIONS]
            if negations and positions[-1] < len(tokens):
                on_negation.append(float(row[negations[0]]))
                on_word.append(float(row[positions[-1]]))
                uniform.append(1 / len(tokens))
    if not on_word:
        return 0.0, 0.0, 0.0, 0
    return (float(np.mean(on_negation)), float(np.mean(on_word)), float(np.mean(uniform)),
            len(on_word))


def predicted_classes(probabilities):
    """The class index of each row of a classifier's output: `(batch, 1)` P(class 1) read
    at 0.5, or the most probable of `(batch, N)`."""
    probabilities = np.asarray(probabilities)
    if probabilities.shape[-1] == 1:
        return (probabilities[:, 0] >= 0.5).astype("int64")
    return np.argmax(probabilities, axis=-1)


def class_predictions(model, dataset):
    """`(truth, predicted)`: the label and predicted class index of every `(tokens, label)`
    example of `dataset`, in its order (a teacher's soft label is read at 0.5)."""
    truth, predicted = [], []
    for tokens, labels in dataset:
        probabilities = keras.ops.convert_to_numpy(model(np.asarray(tokens)))
        predicted.extend(predicted_classes(probabilities).tolist())
        labels = np.asarray(labels)
        truth.extend((labels > 0.5).astype("int64").tolist() if labels.dtype.kind == "f"
                     else labels.astype("int64").tolist())
    return truth, predicted


def accuracy(model, dataset):
    """The share of `(tokens, label)` examples whose predicted class is the label: P(class 1)
    > 0.5 for a binary classifier (as `keras.metrics.BinaryAccuracy`), the most probable
    class of N. Needs no compiling (an ensemble is not compiled)."""
    correct = total = 0
    for tokens, labels in dataset:
        probabilities = keras.ops.convert_to_numpy(model(np.asarray(tokens)))
        if probabilities.shape[-1] == 1:
            predicted = probabilities[:, 0] > 0.5
            correct += int(np.sum(predicted == (np.asarray(labels) == 1)))
        else:
            predicted = np.argmax(probabilities, axis=-1)
            correct += int(np.sum(predicted == np.asarray(labels)))
        total += len(predicted)
    return correct / total


def report_samples(model, corpus, tokenizer, max_length, count, classes=None):
    """Prints the most attended words (and the deciding ones) of a few sentences;
    `classes`: the class names of a run on labelled files (its labels are printed by
    name)."""
    print(f"The words with the most attention (validation sentences, top {TOP_WORDS}):")
    examples = corpus.validation[:count]
    samples = most_attended(model, tokenizer, examples, max_length)
    deciding = (getattr(corpus, "deciding_tokens", None) or {}).get("validation")
    ids = make_token_ids(tokenizer, [text for text, _ in examples], max_length)
    for index, (sample, tokens) in enumerate(
        zip(samples, token_strings(tokenizer, ids), strict=True)
    ):
        words = ", ".join(f"{word} ({weight:.2f})" for word, weight in sample["words"])
        if classes is None:
            guess = f"P(positive) = {sample['probability']:.2f}"
        else:
            sample["label"] = classes[sample["label"]]
            if "predicted" in sample:
                index = sample.pop("predicted")
            else:  # binary: the probability of the class predicted, as for N classes
                index = int(sample["probability"] >= 0.5)
                sample["probability"] = sample["probability"] if index else 1 - sample["probability"]
            guess = f"predicted {classes[index]} ({sample['probability']:.2f})"
            sample["predicted"] = classes[index]
        print(f"  {sample['text']}\n    label {sample['label']}, {guess}; attention: {words}")
        if deciding is not None:
            # Positions past --max-length were cut off with the rest of the sentence.
            sample["deciding_words"] = [
                tokens[i] for i in deciding[index] if i < len(tokens)
            ]
            print("    deciding words (recorded by the generator): "
                  f"{', '.join(sample['deciding_words']) or '(cut off by --max-length)'}")
    return samples

def report_deciding(model, corpus, tokenizer, max_length):
    """Prints and returns the attention on the deciding words of the validation split."""
    share, uniform, counted = deciding_attention(
        model, tokenizer, corpus.validation, corpus.deciding_tokens["validation"],
        max_length,
    )
    print(
        f"Attention on the deciding words: {share:.1%} of the pooling attention on "
        f"average ({counted} validation sentences; {uniform:.1%} if spread evenly)"
    )
    on_negation, on_word, word_uniform, negated = negated_attention(
        model, tokenizer, corpus.validation, corpus.deciding_tokens["validation"],
        max_length,
    )
    print(
        f"  in the {negated} negated ones: {on_negation:.1%} on the negation, "
        f"{on_word:.1%} on the word it flips ({word_uniform:.1%} each if spread evenly)"
    )
    return {
        "deciding_attention": share, "deciding_attention_uniform": uniform,
        "negated_attention_on_negation": on_negation,
        "negated_attention_on_word": on_word,
    }
