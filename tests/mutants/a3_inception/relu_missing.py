"""ConvBlock forgets the ReLU: conv → BatchNorm only."""

CELLS = {"conv_block": '''
class ConvBlock(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        return self.bn(self.conv(x))
'''}

# Shapes and parameter counts are unchanged; max-pooling still makes the network non-linear
# and it trains above the smoke threshold (measured, see tests/test_roundtrips.py).
LOSES = {"test_conv_block"}
FEEDBACK = ['the ReLU is missing']
