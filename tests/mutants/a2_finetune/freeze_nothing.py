"""freeze_features forgets to freeze: every parameter keeps requires_grad=True.

The whole backbone would train with the head; the freezing check and the recipe check (where
the frozen weights move under three SGD steps) must fail. Training itself caches features, so
the saved file's backbone, its BatchNorm statistics and the accuracy are unaffected.
"""
CELLS = {
    "freeze_features": '''
def freeze_features(model, prefix):
    """Freeze every parameter whose name starts with ``prefix``; return ``model``."""
    for name, param in model.named_parameters():
        if name.startswith(prefix):
            param.requires_grad  # reads the flag, never sets it
    return model
''',
}
LOSES = {"test_freeze_features", "test_frozen_recipe"}
FEEDBACK = "trainable parameters after freeze_features + replace_head: expected ['classifier.1.bias', 'classifier.1.weight']"
