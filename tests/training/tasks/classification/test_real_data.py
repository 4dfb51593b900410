"""SST-2 through the command's loading path, and a few training steps on it (seconds)."""

import keras
import numpy as np
import pytest

from attention_layers.data import make_classification_dataset
from attention_layers.models import TransformerClassifier
from attention_layers.training import evaluation, runner
from attention_layers.training.configs import RunSettings
from attention_layers.training.state import build_training_state
from attention_layers.training.tasks import classification


@pytest.mark.data
def test_sst2_loads_and_trains(data_dir, tmp_path):
    flags = {"dataset": "sst2", "data": str(data_dir / "SST-2"), "vocabulary_size": 20_000,
             "min_count": 2}
    data = runner.prepare_data(
        classification.ClassificationTask(), classification.ClassificationConfig(**flags),
        RunSettings(), tmp_path, flags,
    )
    corpus, (tokenizer,) = data.corpus, data.tokenizers
    assert (len(corpus.train), len(corpus.validation), len(corpus.test)) == (67_349, 872, 1_821)
    assert corpus.test[0][1] is None  # GLUE keeps the test labels private

    assert (tmp_path / "vocab.txt").is_file()
    # The text is lower-cased and tokenized already: "it 's" and "n't" are words.
    assert tokenizer.vocabulary_size > 10_000
    assert tokenizer.token_to_id("n't") != tokenizer.unk_id

    train = make_classification_dataset(corpus.train[:512], tokenizer, batch_size=64)
    dev = make_classification_dataset(corpus.validation, tokenizer, batch_size=128)
    model = TransformerClassifier(
        tokenizer.vocabulary_size, num_layers=1, model_dim=16, num_heads=2, feed_forward_dim=32
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    build_training_state(model, train)  # fit then traces its step once, not twice
    history = model.fit(train, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    loss, accuracy = model.evaluate(dev, verbose=0)
    assert np.isfinite(loss) and 0 <= accuracy <= 1

    samples = evaluation.most_attended(model, tokenizer, corpus.validation[:2], 64)
    assert samples[0]["text"] == corpus.validation[0][0]
    assert all(0 <= weight <= 1 for _, weight in samples[0]["words"])
    assert keras.ops.convert_to_numpy(model(np.array([[5, 6, 0]]))).shape == (1, 1)
