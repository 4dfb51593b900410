"""The attention family, positional encodings and Transformer blocks (`keras.ops` only)."""

from attention_layers.layers.additive import AdditiveAttention
from attention_layers.layers.base import BaseAttention
from attention_layers.layers.dot_product import (
    ScaledDotProductAttention,
    scaled_dot_product_attention,
)
from attention_layers.layers.location import LocationAttention, LocationSensitiveAttention
from attention_layers.layers.luong import LuongAttention
from attention_layers.layers.masking import masked_softmax
from attention_layers.layers.multi_head import MultiHeadAttention, SelfAttention
from attention_layers.layers.pooling import AttentionPooling
from attention_layers.layers.positional import PositionEmbedding, SinusoidalPositionalEncoding
from attention_layers.layers.spatial import SpatialAttention
from attention_layers.layers.transformer import TransformerDecoderBlock, TransformerEncoderBlock

__all__ = [
    "AdditiveAttention",
    "AttentionPooling",
    "BaseAttention",
    "LocationAttention",
    "LocationSensitiveAttention",
    "LuongAttention",
    "MultiHeadAttention",
    "PositionEmbedding",
    "ScaledDotProductAttention",
    "SelfAttention",
    "SinusoidalPositionalEncoding",
    "SpatialAttention",
    "TransformerDecoderBlock",
    "TransformerEncoderBlock",
    "masked_softmax",
    "scaled_dot_product_attention",
]
