"""Several BiGRU models built in one `load_model` stay separate when Python reuses ids.

Keras' `Bidirectional` copies the layer it wraps through its config, and inside `load_model`
Keras' object-sharing scope matches objects by `id(object)`. CPython gives a dead object's
id to a new one; how soon depends on the garbage collector, which is why an ensemble of
BiGRU classifiers failed to load in the process that trained it and loaded in a fresh one.
`ReusedIds` makes that reuse certain, so the test fails whenever a wrapped layer can die
while the load still runs.
"""

import doctest
import gc
import itertools
import weakref

import keras
import numpy as np

# The object-sharing scope of `load_model` calls this module's `id`; Keras does not export it.
from keras.src.saving import serialization_lib

from attention_layers.models import BiGRUClassifier, ClassifierEnsemble, RNNTranslator, recurrent

TOKEN_IDS = np.array([[5, 6, 7, 8, 9], [10, 11, 12, 0, 0]], "int32")


class ReusedIds:
    """`id` as CPython may give it: unique among live objects, a dead object's id reused first.

    Each object gets a number that is free again once the object is garbage collected; the
    smallest free number is handed out next, so a layer that dies during the load passes its
    number to the next object serialized (in the same order, the next model's wrapped layer).
    """

    def __init__(self):
        self.numbers = {}  # builtin id of a live object -> its number
        self.free = []
        self.counter = itertools.count()

    def __call__(self, obj):
        if isinstance(obj, keras.layers.Layer):
            gc.collect()  # layers sit in reference cycles: collect the dead ones now
        key = id(obj)
        if key not in self.numbers:
            self.numbers[key] = min(self.free) if self.free else next(self.counter)
            if self.numbers[key] in self.free:
                self.free.remove(self.numbers[key])
            weakref.finalize(obj, self._release, key)
        return self.numbers[key]

    def _release(self, key):
        self.free.append(self.numbers.pop(key))


def assert_separate_directions(models, wrapper_name):
    wrappers = [getattr(model, wrapper_name) for model in models]
    for wrapper in wrappers:
        assert (wrapper.forward_layer.go_backwards, wrapper.backward_layer.go_backwards) == (
            False,
            True,
        )
    recurrent_layers = [w.forward_layer for w in wrappers] + [w.backward_layer for w in wrappers]
    assert len({id(layer) for layer in recurrent_layers}) == 2 * len(wrappers)


def test_an_ensemble_of_bigrus_loads_when_ids_are_reused(tmp_path, monkeypatch):
    keras.utils.set_random_seed(3)
    members = [
        BiGRUClassifier(100, embedding_dim=8, units=8, attention_units=8) for _ in range(2)
    ]
    ensemble = ClassifierEnsemble(members)
    expected = keras.ops.convert_to_numpy(ensemble(TOKEN_IDS))
    ensemble.save(tmp_path / "ensemble.keras")
    monkeypatch.setattr(serialization_lib, "id", ReusedIds(), raising=False)

    loaded = keras.saving.load_model(tmp_path / "ensemble.keras")

    assert_separate_directions(loaded.members, "encoder")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(TOKEN_IDS)), expected, atol=1e-6)


def test_rnn_translators_built_in_one_sharing_scope_stay_separate(monkeypatch):
    monkeypatch.setattr(serialization_lib, "id", ReusedIds(), raising=False)
    with serialization_lib.ObjectSharingScope():
        translators = [RNNTranslator(20, 20, embedding_dim=8, units=8) for _ in range(2)]
    assert_separate_directions(translators, "encoder_rnn")


def test_the_docstring_example_runs():
    result = doctest.testmod(recurrent, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0 and result.failed == 0
