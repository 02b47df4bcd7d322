"""The projection shortcut is a 1×1 convolution without its BatchNorm.

Shapes, the residual branch and the "branch switched off" check are right; the shortcut's layer
check must name the missing layer (not "look at the end of the network") and the parameter
counts are short by the BatchNorms' weights and biases. In smoke the network still trains.
"""

CELLS = {"basic_block": '''\
class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))
'''}

LOSES = {"test_shortcut", "test_param_counts"}
FEEDBACK = "BatchNorm2d(32) is missing after Conv2d(16->32, k1, s2, p0) (layer 0)"
