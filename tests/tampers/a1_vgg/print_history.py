"""Prints the kernel's input history (In) from a graded cell, plain and rot13-encoded, hoping the
hidden tests are in it and reach the feedback."""
ON = "missing_relu"
CHEAT = {"vgg11_cifar": '''
import codecs
_history = "\\n".join(globals().get("In", []))
print(_history)
print(codecs.encode(_history, "rot13"))
'''}
FLAGGED = None
