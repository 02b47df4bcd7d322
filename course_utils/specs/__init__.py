"""Reference numbers the graders compare against, computed from architecture tables.

One module per architecture family, each a table in torchvision's layout (and with
torchvision's names where torchvision has the network) plus small formulas over it: shapes,
parameter counts, layer sequences. Tests cross-check the formulas against torchvision's models
and the reference solutions. Nothing here implements a network an assignment asks for.
"""
from .inception import *  # noqa: F401,F403 (one namespace, as torchvision.models)
from .layers import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .transfer import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403

# Accuracy thresholds live in course_utils.config (one home per per-profile figure, each tied
# to its run record). These names remain as aliases until the notebooks use config's.
