"""trainable_parameters returns every parameter, frozen ones included.

The optimizer then holds the frozen backbone; any frozen tensor with a (zero) gradient moves
under weight decay and momentum. Only the check of what the optimizer gets fails: in the
recipe and in training, frozen tensors have no gradient and SGD skips them.
"""
CELLS = {
    "trainable_parameters": '''
def trainable_parameters(model):
    """The parameters of ``model`` that require gradients, as a list."""
    return list(model.parameters())
''',
}
LOSES = {"test_trainable_parameters"}
FEEDBACK = "expected the classifier's weight and bias, got 22 tensors"
