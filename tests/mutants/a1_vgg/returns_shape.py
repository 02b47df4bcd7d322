"""forward returns the output's .shape instead of the output tensor.

The layers are right (make_features, parameter count and layer sequence pass), but nothing can
use the output: the shape and device checks fail with a message about .shape, and training
crashes, so no weights file is written and the accuracy check is lost too.
"""
CELLS = {
    "vgg11_cifar": '''
VGG11_CFG = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


class VGG11CIFAR(nn.Module):
    """VGG-11 for 3×32×32 images: VGG's features, a 512-value flatten and a small classifier."""

    def __init__(self, num_classes=10, batch_norm=True):
        super().__init__()
        self.features = make_features(VGG11_CFG, batch_norm=batch_norm)
        self.classifier = nn.Sequential(nn.Linear(512, 512), nn.ReLU(inplace=True), nn.Linear(512, num_classes))

    def forward(self, x):
        out = self.classifier(torch.flatten(self.features(x), 1))
        return out.shape
''',
}
LOSES = {"test_output_shape", "test_devices", "test_accuracy"}
FEEDBACK = ['not its .shape', 'a1_vgg_model.pt is missing']
