"""`get_config` entries written once: the constructor arguments that an object keeps as
attributes of the same name.

Example:

>>> class Block:
...     def __init__(self, units, dropout):
...         self.units, self.dropout = units, dropout
>>> attribute_config(Block(8, 0.1), "units", "dropout")
{'units': 8, 'dropout': 0.1}
"""


def attribute_config(instance, *names):
    """`{name: instance.<name>}` for each of `names`, in their order (the order of the
    config that `.keras` files store)."""
    return {name: getattr(instance, name) for name in names}
