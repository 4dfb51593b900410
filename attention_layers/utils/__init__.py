"""Backend-neutral helpers shared by every floor of the package (stdlib, numpy, keras only)."""
