"""No BatchNorm in the residual branch: conv-ReLU-conv, then the shortcut.

Shapes and the shortcut are right, but the layer check, the parameter counts and the
"branch switched off" check (there is no bn2 to switch off) all fail. Without BatchNorm the
sums of nine residual branches are not normalised either: in the smoke run the network does
not learn (loss stays at ln 10, accuracy 10.0 % vs the reference's 22.0 %), so it also misses
the accuracy threshold.
"""

CELLS = {"basic_block": '''\
class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = F.relu(self.conv1(x))
        out = self.conv2(out)
        return F.relu(out + self.shortcut(x))
'''}

LOSES = {"test_residual_branch", "test_zero_init_residual", "test_param_counts", "test_accuracy"}

FEEDBACK = ["residual branch (conv1, bn1, conv2, bn2) of BasicBlock(16, 16, stride=1): expected 4 layers, got 2",
            "BatchNorm2d(16) is missing after Conv2d(16->16, k3, s1, p1) (layer 0)"]
