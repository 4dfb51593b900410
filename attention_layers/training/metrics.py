"""Masked loss and accuracy for padded token sequences, and BLEU with sacrebleu."""

import keras
from keras import ops

PAD_ID = 0


def masked_loss():
    """Sparse cross-entropy over logits that ignores padding (id 0).

    Keras averages over the real tokens only, so a batch with much padding is not
    under-weighted.
    """
    return keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=PAD_ID, name="masked_loss"
    )


@keras.saving.register_keras_serializable(package="attention_layers")
def masked_accuracy(y_true, y_pred):
    """Token accuracy over the non-padding positions of `y_true (batch, T)`."""
    y_true = ops.cast(y_true, "int32")
    predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
    real = ops.cast(ops.not_equal(y_true, PAD_ID), "float32")
    correct = ops.cast(ops.equal(predicted, y_true), "float32") * real
    return ops.sum(correct) / ops.maximum(ops.sum(real), 1.0)


def corpus_bleu(hypotheses, references):
    """Corpus BLEU (sacrebleu, 13a tokenization) of detokenized strings, 0-100.

    Args:
        hypotheses: list of translated strings.
        references: list of reference strings, one per hypothesis.

    Returns:
        The `sacrebleu.metrics.BLEUScore`; `.score` is the number usually reported.
    """
    import sacrebleu

    if len(hypotheses) != len(references):
        raise ValueError(
            f"`hypotheses` has {len(hypotheses)} entries but `references` has {len(references)}."
        )
    return sacrebleu.corpus_bleu(list(hypotheses), [list(references)])
