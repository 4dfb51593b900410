"""Small backend-neutral helpers shared by every package (stdlib, NumPy and Keras only)."""
