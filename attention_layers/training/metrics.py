"""Masked loss and accuracy for padded token sequences, a classifier's loss over N classes,
its accuracy against soft targets and its per-class scores (macro-F1, confusion matrix), and
BLEU with sacrebleu."""

import keras
from keras import ops

from attention_layers.utils.token_ids import PAD_ID


def masked_loss(label_smoothing=0.0):
    """Sparse cross-entropy over logits that ignores padding (id 0), averaged over the
    real tokens only, so a batch with much padding is not under-weighted.

    Args:
        label_smoothing: in [0, 1). 0 gives Keras' `SparseCategoricalCrossentropy`;
            above 0, `SmoothedSparseCrossentropy` (Szegedy et al. 2016).
    """
    if label_smoothing:  # the class checks that it is in [0, 1)
        return SmoothedSparseCrossentropy(label_smoothing, name="masked_loss")
    return keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=PAD_ID, name="masked_loss"
    )


@keras.saving.register_keras_serializable(package="attention_layers")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Cross-entropy against label-smoothed targets, from logits, padding ignored.

    The target distribution puts `1 - label_smoothing` on the true token and spreads
    `label_smoothing` uniformly over the V tokens (Szegedy et al. 2016, "Rethinking the
    Inception Architecture", §7; used for translation by Vaswani et al. 2017, §5.4):

        loss_t = -(1 - eps) * log p(y_t) - eps / V * sum_v log p(v)

    Tokens equal to `ignore_class` (padding) count for nothing, and the batch's loss is the
    mean over the other tokens.

    Args:
        label_smoothing: `eps`, in [0, 1).
        ignore_class: the id that marks padding (0).

    Call arguments:
        y_true: int token ids, `(batch, T)`.
        y_pred: logits, `(batch, T, V)`.

    Returns:
        A scalar: the mean smoothed cross-entropy of the non-padding tokens.

    Example:

    >>> loss = SmoothedSparseCrossentropy(0.1)
    >>> float(loss([[1, 0]], [[[0.0, 0.0], [5.0, -5.0]]]))  # one real token, two classes
    0.6931...
    """

    def __init__(self, label_smoothing=0.1, ignore_class=PAD_ID, name="masked_loss",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        if not 0 <= label_smoothing < 1:
            raise ValueError(
                f"`label_smoothing` must be in [0, 1); received {label_smoothing}."
            )
        self.label_smoothing = float(label_smoothing)
        self.ignore_class = ignore_class

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        logits = ops.cast(y_pred, "float32")
        # With log p(v) = z_v - logsumexp(z), the loss is
        #   logsumexp(z) - (1 - eps) * z_y - eps * mean_v(z_v),
        # which never materializes the (batch, T, V) log-probabilities.
        true_logit = ops.take_along_axis(logits, ops.expand_dims(y_true, -1), axis=-1)[..., 0]
        losses = (
            ops.logsumexp(logits, axis=-1)
            - (1 - self.label_smoothing) * true_logit
            - self.label_smoothing * ops.mean(logits, axis=-1)
        )
        real = ops.cast(ops.not_equal(y_true, self.ignore_class), "float32")
        # Keras divides the sum by the number of positions; scale so that it is the mean
        # over the real tokens.
        positions = ops.cast(ops.size(real), "float32")
        return losses * real * positions / ops.maximum(ops.sum(real), 1.0)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing,
                "ignore_class": self.ignore_class}


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


def thresholded_accuracy(y_true, y_pred):
    """Binary accuracy that reads the target at 0.5 too: `(batch,)` or `(batch, 1)` -> `(batch,)`.

    For the 0/1 labels it is `keras.metrics.BinaryAccuracy`; for a teacher's soft targets
    (`--teacher`) it is the share of sentences on the teacher's side of 0.5, where
    `BinaryAccuracy` would count a match only when the target is exactly 0 or 1.
    """
    y_pred = keras.ops.reshape(y_pred, (-1,))
    y_true = keras.ops.reshape(keras.ops.cast(y_true, y_pred.dtype), (-1,))
    return keras.ops.cast(keras.ops.equal(y_true > 0.5, y_pred > 0.5), "float32")


def classification_scores(truth, predicted, class_names):
    """Accuracy, macro-F1, per-class precision, recall, F1 and support (all in 0-1), and
    the confusion matrix.

    Args:
        truth: the true class index of each example.
        predicted: the predicted class index of each example.
        class_names: the class names, in index order.

    Returns:
        `{"accuracy", "macro_f1", "examples", "per_class": {name: {"precision", "recall",
        "f1", "support"}}, "confusion_matrix": [[count, ...], ...]}`: row `i` of the matrix
        counts the examples of class `i` by predicted class (column), as scikit-learn's
        `confusion_matrix`.

    Example:

    >>> scores = classification_scores([0, 1, 1], [0, 1, 0], ("neg", "pos"))
    >>> scores["accuracy"], scores["macro_f1"], scores["confusion_matrix"]
    (0.666667, 0.666667, [[1, 0], [1, 1]])
    """
    size = len(class_names)
    matrix = [[0] * size for _ in range(size)]
    for true, guess in zip(truth, predicted, strict=True):
        matrix[int(true)][int(guess)] += 1
    per_class = {}
    for index, name in enumerate(class_names):
        true_positive = matrix[index][index]
        predicted_here = sum(row[index] for row in matrix)
        support = sum(matrix[index])
        precision = true_positive / predicted_here if predicted_here else 0.0
        recall = true_positive / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {"precision": round(precision, 6), "recall": round(recall, 6),
                           "f1": round(f1, 6), "support": support}
    correct = sum(matrix[index][index] for index in range(size))
    f1s = [values["f1"] for values in per_class.values()]
    return {
        "accuracy": round(correct / len(truth), 6) if len(truth) else 0.0,
        "macro_f1": round(sum(f1s) / len(f1s), 6),
        "examples": len(truth),
        "per_class": per_class,
        "confusion_matrix": matrix,
    }


def class_crossentropy(num_classes, label_smoothing=0.0):
    """The loss of a softmax over `num_classes` classes against class ids: cross-entropy
    with targets that put `1 - label_smoothing` on the true class and spread
    `label_smoothing` evenly over all N (Szegedy et al. 2016, §7).

    Example:

    >>> loss = class_crossentropy(4, label_smoothing=0.2)
    >>> round(float(loss([0], [[0.85, 0.05, 0.05, 0.05]])), 4)  # targets 0.85, 0.05 x 3
    0.5875
    """
    if not label_smoothing:
        return keras.losses.SparseCategoricalCrossentropy()
    return SmoothedClassCrossentropy(num_classes, label_smoothing)


class SmoothedClassCrossentropy(keras.losses.Loss):
    """`class_crossentropy` with label smoothing: class ids `(batch,)` against softmax
    probabilities `(batch, N)`."""

    def __init__(self, num_classes, label_smoothing, name="smoothed_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        ids = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")  # (batch,)
        targets = keras.ops.one_hot(ids, self.num_classes)  # (batch, N)
        return keras.losses.categorical_crossentropy(
            targets, y_pred, label_smoothing=self.label_smoothing
        )
