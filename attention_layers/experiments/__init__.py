"""attention_layers.experiments."""
