"""attention_layers.data."""
