"""attention_layers.training."""
