"""The README's serving example uses sentences the default model can translate."""

import pathlib
import re

from attention_layers.data import generate_translation_corpus
from attention_layers.text import normalize

ROOT = pathlib.Path(__file__).parents[2]


def test_the_serving_example_uses_words_of_the_generated_corpus():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    serving = readme.split("## Serving", 1)[1].split("\n## ", 1)[0]
    sentences = re.findall(r'tf\.constant\(\["(.*?)"\]\)', serving)
    assert len(sentences) == 2
    # The default run: 20,000 generated pairs, seed 0; the model learns the training words.
    corpus = generate_translation_corpus(20_000, seed=0)
    known = set()
    for text in normalize([source for source, _ in corpus.train]).numpy():
        known.update(text.decode("utf-8").split())
    for sentence in sentences:
        words = normalize([sentence]).numpy()[0].decode("utf-8").split()
        assert set(words) <= known, (sentence, set(words) - known)
