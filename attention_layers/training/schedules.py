"""Learning-rate schedules and the optimizers that use them: the Transformer's warm-up and
inverse square-root decay (Adam as Vaswani et al. set it), and clipped Adam for RNNs."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="attention_layers")
class TransformerSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """The Transformer's learning rate: linear warm-up, then inverse square-root decay.

    Vaswani et al. 2017, §5.3:
    `lrate = scale * d_model^-0.5 * min(step^-0.5, step * warmup_steps^-1.5)`,
    with `step` counted from 1. The peak, at `step = warmup_steps`, is
    `scale / sqrt(d_model * warmup_steps)`. Use it with
    `keras.optimizers.Adam(schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9)`.

    Args:
        model_dim: `d_model`.
        warmup_steps: optimizer steps of linear warm-up (the paper: 4000).
        scale: multiplies the whole schedule (the paper: 1.0); short runs on small
            models train faster with a larger one.

    Example:

    >>> schedule = TransformerSchedule(128, warmup_steps=1000)
    >>> round(float(schedule(999)), 6)  # the peak: 1 / sqrt(128 * 1000)
    0.002795
    """

    def __init__(self, model_dim, warmup_steps=4000, scale=1.0):
        if model_dim < 1 or warmup_steps < 1 or scale <= 0:
            raise ValueError(
                "`model_dim` and `warmup_steps` must be positive and `scale` above 0; "
                f"received {model_dim}, {warmup_steps}, {scale}."
            )
        self.model_dim = model_dim
        self.warmup_steps = warmup_steps
        self.scale = scale

    def __call__(self, step):
        step = ops.cast(step, "float32") + 1.0  # optimizer iterations count from 0
        decay = ops.rsqrt(step)
        warmup = step * (self.warmup_steps**-1.5)
        return self.scale * (self.model_dim**-0.5) * ops.minimum(decay, warmup)

    def get_config(self):
        return {
            "model_dim": self.model_dim,
            "warmup_steps": self.warmup_steps,
            "scale": self.scale,
        }


def transformer_adam(learning_rate, model_dim, warmup_steps, **options):
    """Adam with `TransformerSchedule` scaled so that its peak is `learning_rate`, and
    Vaswani et al.'s moments (beta_2 0.98, epsilon 1e-9); `options` go to Adam (e.g.
    `use_ema`)."""
    scale = learning_rate * (model_dim * warmup_steps) ** 0.5
    schedule = TransformerSchedule(model_dim, warmup_steps, scale)
    return keras.optimizers.Adam(schedule, beta_1=0.9, beta_2=0.98, epsilon=1e-9, **options)


def clipped_adam(learning_rate, **options):
    """Adam at a constant `learning_rate` with gradients clipped to norm 1: clipping keeps
    recurrent gradients from exploding on long sentences."""
    return keras.optimizers.Adam(learning_rate, clipnorm=1.0, **options)


def model_adam(config, **options):
    """Adam as a task's `--model` wants it: with Vaswani's warm-up schedule for a
    Transformer (`config.model == "transformer"`: `learning_rate`, `model_dim`,
    `warmup_steps`), clipped for a recurrent model (`learning_rate`). `options`: Adam's
    others, e.g. `use_ema`."""
    if config.model == "transformer":
        return transformer_adam(
            config.learning_rate, config.model_dim, config.warmup_steps, **options
        )
    return clipped_adam(config.learning_rate, **options)
