"""Corpora and `tf.data` pipelines.

Corpora (each returns a corpus split into train / validation / test):

- `generate_translation_corpus`: generated Spanish-English pairs with gold word
  alignments; the offline default.
- `load_spa_eng`: the Tatoeba Spanish-English pairs (`spa.txt`), local or downloaded.
- `generate_sentiment_corpus`: generated sentences whose sentiment is decided by
  structure (distant negation, "but"), with the deciding words; the offline default.
- `load_sst2`: GLUE SST-2, local or downloaded.
- `load_translation_files`: a user's sentence pairs in any two languages (line-aligned
  files, TSV/CSV, Tatoeba files, JSON lines); `reverse_direction` turns any corpus around.
- `load_labelled_files`: a user's texts with any labels (CSV/TSV, JSON lines, a folder per
  class), as a `LabelledCorpus`.

Pipelines: `make_translation_datasets` gives teacher-forcing batches
`((source, target_in), target_out)`, `make_classification_datasets` gives
`(tokens, label)`; both are tokenized once, cached, batched by length and prefetched.
"""

from attention_layers.data.corpora import (
    SentimentCorpus,
    TranslationCorpus,
    split_indices_by_key,
)
from attention_layers.data.download import ChecksumError, RemoteArchive, fetch_archive_members
from attention_layers.data.generated_sentiment import generate_sentiment_corpus
from attention_layers.data.generated_translation import (
    generate_translation_corpus,
    generate_translation_pairs,
)
from attention_layers.data.pipelines import (
    DatasetSplits,
    bucket_boundaries,
    bucket_lengths,
    known_steps,
    make_classification_dataset,
    make_classification_datasets,
    make_translation_dataset,
    make_translation_datasets,
    padding_fraction,
)
from attention_layers.data.reading import CorpusFormatError, MalformedLineWarning
from attention_layers.data.spa_eng import load_spa_eng, read_spa_eng_pairs
from attention_layers.data.sst2 import load_sst2, read_sst2_file
from attention_layers.data.user_corpora import (
    LabelledCorpus,
    load_labelled_files,
    load_translation_files,
    read_labelled_texts,
    read_translation_pairs,
    reverse_direction,
)

__all__ = [
    "ChecksumError",
    "CorpusFormatError",
    "DatasetSplits",
    "LabelledCorpus",
    "MalformedLineWarning",
    "RemoteArchive",
    "SentimentCorpus",
    "TranslationCorpus",
    "bucket_boundaries",
    "bucket_lengths",
    "known_steps",
    "fetch_archive_members",
    "generate_sentiment_corpus",
    "generate_translation_corpus",
    "generate_translation_pairs",
    "load_labelled_files",
    "load_spa_eng",
    "load_sst2",
    "load_translation_files",
    "make_classification_dataset",
    "make_classification_datasets",
    "make_translation_dataset",
    "make_translation_datasets",
    "padding_fraction",
    "read_labelled_texts",
    "read_spa_eng_pairs",
    "read_sst2_file",
    "read_translation_pairs",
    "reverse_direction",
    "split_indices_by_key",
]
