"""The 1×1 reductions are omitted: branch3x3 and branch5x5 convolve the input directly."""

CELLS = {"inception_block": '''
class InceptionBlock(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1x1 = ConvBlock(in_channels, ch1x1, kernel_size=1)
        self.branch3x3 = ConvBlock(in_channels, ch3x3, kernel_size=3, padding=1)
        self.branch5x5 = ConvBlock(in_channels, ch5x5, kernel_size=5, padding=2)
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                         ConvBlock(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        outputs = [self.branch1x1(x), self.branch3x3(x), self.branch5x5(x), self.branch_pool(x)]
        return torch.cat(outputs, dim=1)
'''}

# Every shape is right; the parameter counts (of the block, and so of the network) are not.
# The bigger network still trains above the smoke threshold (measured).
LOSES = {"test_inception_params", "test_network"}
FEEDBACK = ['parameters of branch3x3 in inception 3a', '1×1 ConvBlock in_channels → ch3x3red']
