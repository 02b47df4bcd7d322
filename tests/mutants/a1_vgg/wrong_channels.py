"""VGG11_CFG has 256 instead of 512 channels in the first convolution of stage 4.

Shapes still work (the builder passes the channel count on), so only the exact parameter
count and the layer sequence can tell; both must name the mismatch.
"""
CELLS = {
    "vgg11_cifar": '''
VGG11_CFG = [64, "M", 128, "M", 256, 256, "M", 256, 512, "M", 512, 512, "M"]


class VGG11CIFAR(nn.Module):
    """VGG-11 for 3×32×32 images: VGG's features, a 512-value flatten and a small classifier."""

    def __init__(self, num_classes=10, batch_norm=True):
        super().__init__()
        self.features = make_features(VGG11_CFG, batch_norm=batch_norm)
        self.classifier = nn.Sequential(nn.Linear(512, 512), nn.ReLU(inplace=True), nn.Linear(512, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))
''',
}
LOSES = {"test_param_count", "test_layer_sequence"}
FEEDBACK = ['number of parameters of VGG11CIFAR(batch_norm=False): expected 9,488,266', 'expected Conv2d(256->512, k3, s1, p1), got Conv2d(256->256, k3, s1, p1)']
