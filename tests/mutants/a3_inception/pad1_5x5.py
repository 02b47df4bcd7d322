"""The 5×5 convolution of branch5x5 has padding=1, so that branch shrinks H and W by 2."""

CELLS = {"inception_block": '''
class InceptionBlock(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1x1 = ConvBlock(in_channels, ch1x1, kernel_size=1)
        self.branch3x3 = nn.Sequential(ConvBlock(in_channels, ch3x3red, kernel_size=1),
                                       ConvBlock(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch5x5 = nn.Sequential(ConvBlock(in_channels, ch5x5red, kernel_size=1),
                                       ConvBlock(ch5x5red, ch5x5, kernel_size=5, padding=1))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                         ConvBlock(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        outputs = [self.branch1x1(x), self.branch3x3(x), self.branch5x5(x), self.branch_pool(x)]
        return torch.cat(outputs, dim=1)
'''}

# Padding has no parameters, so only the parameter counts (and ConvBlock) survive: the
# branches no longer agree on H×W and torch.cat fails.
LOSES = {"test_branch_shapes", "test_concat_channels", "test_concat_order", "test_network", "test_accuracy"}
FEEDBACK = ['branch5x5 of InceptionBlock', '5×5 ConvBlock (padding=2)', 'expected (2, 32, 28, 28), got (2, 32, 26, 26)']
