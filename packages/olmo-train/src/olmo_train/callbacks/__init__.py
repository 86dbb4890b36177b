"""olmo-train's built-in callbacks (the contract is :mod:`olmo_core.callbacks`).

Each is registered through ``olmo_register_callbacks`` by :mod:`olmo_train.plugin` and selected with
``callbacks=[...]``; ``DEFAULT_CALLBACKS`` is the list a run uses unless told otherwise.
"""

__all__ = ["DEFAULT_CALLBACKS"]

DEFAULT_CALLBACKS = ["loss_guard", "speed", "energy", "metrics", "tensorboard", "progress", "checkpoint", "plots"]
