"""`python -m attention_layers classify RUN`: one text a line in, TSV out (text, label,
probability; `attention_layers.apps.batch_commands`)."""

import sys

from attention_layers.apps.batch_commands import classify_main as main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
