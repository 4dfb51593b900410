"""attention_layers.visualization."""
