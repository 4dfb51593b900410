"""`python -m attention_layers translate RUN`: one sentence a line in, one translation a
line out (`attention_layers.apps.batch_commands`)."""

import sys

from attention_layers.apps.batch_commands import translate_main as main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
