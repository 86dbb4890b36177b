"""Training backends: where the model runs and how its processes cooperate.

A backend places a plain model on its device(s) and wraps it for training, reduces values across
processes, and saves and loads model state. ``single`` trains on one device; the distributed backends follow
the same :class:`~olmo_train.backends.base.Backend` contract.
"""
