"""freeze_features ignores the prefix and freezes every parameter, the classifier included.

On a VGG-style model the classifier must keep training after freeze_features(model, "features"),
so the freezing check fails. In the full recipe the new head (created afterwards) still
trains, so nothing else is lost.
"""
CELLS = {
    "freeze_features": '''
def freeze_features(model, prefix):
    """Freeze every parameter whose name starts with ``prefix``; return ``model``."""
    for param in model.parameters():
        param.requires_grad_(False)
    return model
''',
}
LOSES = {"test_freeze_features"}
FEEDBACK = "only parameters whose name starts with the prefix may be frozen"
