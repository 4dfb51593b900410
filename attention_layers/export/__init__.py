"""attention_layers.export."""
