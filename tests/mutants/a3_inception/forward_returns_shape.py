"""InceptionBlock.forward returns the output's .shape instead of the tensor."""

CELLS = {"inception_block": '''
class InceptionBlock(nn.Module):
    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1x1 = ConvBlock(in_channels, ch1x1, kernel_size=1)
        self.branch3x3 = nn.Sequential(ConvBlock(in_channels, ch3x3red, kernel_size=1),
                                       ConvBlock(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch5x5 = nn.Sequential(ConvBlock(in_channels, ch5x5red, kernel_size=1),
                                       ConvBlock(ch5x5red, ch5x5, kernel_size=5, padding=2))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                         ConvBlock(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        out = torch.cat([self.branch1x1(x), self.branch3x3(x), self.branch5x5(x), self.branch_pool(x)], dim=1)
        return out.shape
'''}

# Each branch is right on its own; everything that uses the block's output fails.
LOSES = {"test_concat_channels", "test_concat_order", "test_network", "test_accuracy"}
FEEDBACK = ['not its .shape']
