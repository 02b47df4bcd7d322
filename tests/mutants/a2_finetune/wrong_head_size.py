"""replace_head hard-codes CIFAR-10's 10 outputs instead of using num_classes.

The output shape check fails, and so does the recipe's count of trainable parameters (a
256×10 head instead of 256×5). The model still trains and is graded on the target classes.
"""
CELLS = {
    "replace_head": '''
def replace_head(model, num_classes):
    """Replace the last Linear layer (``classifier[-1]`` or ``fc``) by one with ``num_classes`` outputs."""
    if isinstance(getattr(model, "fc", None), nn.Linear):
        model.fc = nn.Linear(model.fc.in_features, 10)
    else:
        model.classifier[-1] = nn.Linear(model.classifier[-1].in_features, 10)
    return model
''',
}
LOSES = {"test_replace_head", "test_frozen_recipe"}
FEEDBACK = "number of trainable parameters (the new head): expected 1,285, got 2,570"
