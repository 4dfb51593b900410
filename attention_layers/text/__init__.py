"""attention_layers.text."""
