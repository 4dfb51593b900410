"""`python -m attention_layers COMMAND ...`: the commands that use what was trained.

    python -m attention_layers serve RUN_OR_EXPORT   # TF Serving's REST API on 127.0.0.1:8501
    python -m attention_layers demo RUN              # a Gradio page that shows attention live
    python -m attention_layers ops RUN_OR_EXPORT     # the ops an export needs, by library
    python -m attention_layers translate RUN_OR_EXPORT < in.txt > out.txt
    python -m attention_layers classify RUN_OR_EXPORT --input texts.txt   # TSV out
    python -m attention_layers evaluate RUN_OR_EXPORT --test PATH   # BLEU/chrF or accuracy/F1

Each command is a module with a `main(argv)` that returns an exit code; the training
commands stay `train_translator.py` and `train_classifier.py`.
"""

import importlib
import sys

# command -> (module, one line of help). A new command is one line here and its module.
COMMANDS = {
    "serve": ("attention_layers.apps.rest_server", "serve an export with TF Serving's REST API"),
    "demo": ("attention_layers.apps.demo", "a Gradio page: type a sentence, see attention"),
    "ops": ("attention_layers.export.ops", "list the ops an export needs and their library"),
    "translate": ("attention_layers.apps.translate", "translate one sentence a line (stdin/--input)"),
    "classify": ("attention_layers.apps.classify", "classify one text a line; TSV out"),
    "evaluate": ("attention_layers.apps.evaluate", "score on a test file: BLEU/chrF, accuracy/F1"),
}


def usage():
    lines = ["usage: python -m attention_layers COMMAND [ARGS ...]", "", "commands:"]
    lines += [f"  {name:<10}{text}" for name, (_, text) in COMMANDS.items()]
    lines.append("\n'python -m attention_layers COMMAND --help' describes each one.")
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if argv[0] not in COMMANDS:
        print(f"error: unknown command {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
