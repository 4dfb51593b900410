"""Each notebook's key printed figures, read from its outputs and checked against its claim.

`KEY_FIGURES[stem]` lists `(pattern, check, claim)`: `pattern` is a regular expression
over the notebook's printed text; every match's first group (or the match itself, when the
pattern has no group) must pass `check`, and at least one match must exist. The bounds
leave a margin under the figures the committed outputs show (in the comments).
"""

import re


def below(limit):
    return lambda text: float(text) < limit


def above(limit):
    return lambda text: float(text) > limit


def present(_):
    return True


KEY_FIGURES = {
    "01_attention_from_scratch": [
        (r"max \|difference\| in weights: (\S+)", below(1e-5), "NumPy == layer weights"),  # 6e-8
        (r"max \|difference\| in context: (\S+)", below(1e-4), "NumPy == layer context"),  # 1e-7
        (r"row sums with both masks: \[1\. 1\. 1\. 1\. 0\. 0\.\]", present,
         "masked rows sum to 0, the others to 1"),
    ],
    "02_self_and_multi_head_attention": [
        (r"max \|difference\| output : (\S+)", below(1e-5), "ours == keras MultiHeadAttention"),
        (r"'next_accuracy': ([\d.]+)", above(0.9), "learns to attend to the next token"),  # 1.0
        (r"without positions: f\(shuffled x\) == shuffled f\(x\)\? True", present,
         "self-attention is permutation-equivariant"),
        (r"with positions:\s+f\(shuffled x\) == shuffled f\(x\)\? False", present,
         "positions break the symmetry"),
    ],
    "03_rnns_and_long_range_dependencies": [
        (r"recall_first d=100 gru_attention \(\d+ weights\): accuracy ([\d.]+)", above(0.9),
         "attention solves distance 100"),  # 1.000
        (r"recall_first d=100 gru \(\d+ weights\): accuracy ([\d.]+)", below(0.5),
         "the GRU alone does not, in the same budget"),  # 0.125, chance
    ],
    "04_seq2seq_with_bahdanau_and_luong_attention": [
        (r"bahdanau\s+test BLEU ([\d.]+)", above(80), "Bahdanau test BLEU"),  # 92.5
        (r"bahdanau\s+hit rate ([\d.]+)%", above(80), "attention finds the gold word"),  # 98.6
    ],
    "05_the_transformer_translator": [
        (r"greedy\s+BLEU\s+([\d.]+)", above(70), "Transformer greedy test BLEU"),  # 88.1
        (r"largest weight above the diagonal (\S+)", below(1e-9), "causal self-attention"),
    ],
    "06_location_based_attention": [
        (r"location\s+validation token accuracy ([\d.]+)", above(0.95), "location attention"),
        (r"asked-about square in ([\d.]+)% of images", above(80), "spatial attention"),  # 100
    ],
    "07_sentiment_classification": [
        (r"Transformer test accuracy ([\d.]+)%", above(95), "generated corpus"),  # 98.72
        (r"weight on the deciding words: ([\d.]+)% on average", above(50),
         "attention on the deciding words"),  # 82.4
    ],
    "08_export_and_serving": [
        (r"greedy export == translate\(\):\s+True", present, "export == library, greedy"),
        (r"beam 4 export == translate\(beam 4\): True", present, "export == library, beam"),
        (r"same translations as in this notebook: True", present, "a fresh process agrees"),
        (r"exact matches with the reference: greedy ([\d.]+)%", above(60), "exact test"),  # 77.4
        (r"exported classifier: test accuracy ([\d.]+)%", above(90), "classifier export"),
    ],
    "09_the_cost_of_attention": [
        (r"max \|banded - full with band mask\| = (\S+)", below(1e-5), "banded == dense"),
        (r"without the window the output moves by ([\d.]+)", above(0.1), "the control moves"),
    ],
}


def printed_text(notebook):
    """Everything the code cells printed (streams and plain-text results), in order."""
    parts = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output.get("text", ""))
            elif "data" in output:
                parts.append(output["data"].get("text/plain", ""))
    return "\n".join(parts)


def failed_key_figures(stem, notebook):
    """The claims of `KEY_FIGURES[stem]` that the notebook's outputs do not support."""
    text = printed_text(notebook)
    failures = []
    for pattern, check, claim in KEY_FIGURES[stem]:
        matches = list(re.finditer(pattern, text))
        values = [match.group(1) if match.groups() else match.group(0) for match in matches]
        if not values:
            failures.append(f"{claim}: nothing printed matches {pattern!r}")
        failures.extend(f"{claim}: {value!r} fails" for value in values if not check(value))
    return failures
