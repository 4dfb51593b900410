"""attention_layers.models."""
